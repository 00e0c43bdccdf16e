import HubJSON
import HubPluginKit

/// Renders an event as structured-mode CloudEvents 1.0 JSON, once, at append time.
enum CloudEventJSON {
    static func write(_ event: EventView, into writer: inout JSONWriter) {
        writer.object { o in
            o.field("specversion", "1.0")
            o.field("id", utf8: event.id.raw)
            o.field("source", utf8: event.source.raw)
            o.field("type", utf8: event.type.raw)
            if !event.subject.isEmpty { o.field("subject", utf8: event.subject.raw) }
            o.asciiField("time") { Timestamp.appendRFC3339(unixNanos: event.timeUnixNanos, to: &$0) }
            let isJSON = event.dataContentType.isEmpty || isJSONType(event.dataContentType.string)
            if event.dataContentType.isEmpty {
                o.field("datacontenttype", "application/json")
            } else {
                o.field("datacontenttype", utf8: event.dataContentType.raw)
            }
            // Extension attribute "sequence": zero-padded so it also orders as text.
            o.asciiField("sequence") { Timestamp.digits(Int64(event.sequence), 16, &$0) }
            o.field("producer", utf8: event.producer.raw)
            if !event.state.isEmpty { o.field("orderstate", utf8: event.state.raw) }
            if !event.data.isEmpty {
                if isJSON {
                    o.rawField("data", event.data.raw)
                } else {
                    o.field("data", utf8: event.data.raw)
                }
            }
        }
    }

    /// "application/json", "application/cloudevents+json", "text/json; charset=utf-8"...
    static func isJSONType(_ type: String) -> Bool {
        let base = (type.split(separator: ";").first ?? "").filter { $0 != " " }
        return base.lowercased().hasSuffix("json")
    }
}
