import HubJSON
import HubPluginKit

/// Renders stored events as structured-mode CloudEvents 1.0 JSON, when the log is read.
public enum CloudEventJSON {
    public static func write(_ event: EventRecord.Fields, into writer: inout JSONWriter) {
        writer.object { o in
            o.field("specversion", "1.0")
            o.field("id", text(event.id))
            o.field("source", text(event.source))
            o.field("type", text(event.type))
            if !event.subject.isEmpty { o.field("subject", text(event.subject)) }
            o.asciiField("time") { Timestamp.appendRFC3339(unixNanos: event.timeUnixNanos, to: &$0) }
            let contentType = event.dataContentType.isEmpty ? "application/json" : text(event.dataContentType)
            o.field("datacontenttype", contentType)
            // Extension attribute "sequence": zero-padded so it also orders as text.
            o.asciiField("sequence") { Timestamp.digits(Int64(event.sequence), 16, &$0) }
            o.field("producer", text(event.producer))
            if !event.state.isEmpty { o.field("orderstate", text(event.state)) }
            if !event.data.isEmpty {
                // JSON data is embedded as JSON only if it parses; anything else is a string.
                if isJSONType(contentType), (try? JSONParser.parse(Array(event.data))) != nil {
                    o.rawField("data", event.data)
                } else {
                    o.field("data", text(event.data))
                }
            }
        }
    }

    public static func text(_ bytes: ArraySlice<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }

    /// "application/json", "application/cloudevents+json", "text/json; charset=utf-8"...
    public static func isJSONType(_ type: String) -> Bool {
        let base = (type.split(separator: ";").first ?? "").filter { $0 != " " }
        return base.lowercased().hasSuffix("json")
    }
}
