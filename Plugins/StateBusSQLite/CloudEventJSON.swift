import HubJSON
import HubPluginKit

/// Renders an event as structured-mode CloudEvents 1.0 JSON, once, at append time.
enum CloudEventJSON {
    static func write(_ event: EventView, into writer: inout JSONWriter) {
        writer.object { o in
            o.field("specversion", "1.0")
            o.field("id", event.id.string)
            o.field("source", event.source.string)
            o.field("type", event.type.string)
            if !event.subject.isEmpty { o.field("subject", event.subject.string) }
            o.field("time", Timestamp.rfc3339(unixNanos: event.timeUnixNanos))
            let contentType = event.dataContentType.isEmpty ? "application/json" : event.dataContentType.string
            o.field("datacontenttype", contentType)
            // Extension attribute "sequence": zero-padded so it also orders as text.
            o.field("sequence", padded(event.sequence))
            o.field("producer", event.producer.string)
            if !event.state.isEmpty { o.field("orderstate", event.state.string) }
            if !event.data.isEmpty {
                if contentType.hasSuffix("json") {
                    o.rawField("data", event.data.raw)
                } else {
                    o.field("data", event.data.string)
                }
            }
        }
    }

    static func padded(_ sequence: UInt64) -> String {
        let text = String(sequence)
        return String(repeating: "0", count: max(0, 16 - text.count)) + text
    }
}
