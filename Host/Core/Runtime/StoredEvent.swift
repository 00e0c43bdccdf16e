import HubJSON
import HubLoader

/// Events read back from the log (as the bus renders them: structured CloudEvents with the
/// extensions `sequence`, `producer`, `orderstate`) turned back into BusEvents: for redelivery
/// after a restart, for nodes following a shared log, and for `orderhub bus migrate`.
extension BusEvent {
    /// `keepingState`: the order state the event set comes along (following, migrating);
    /// without it the event changes no state (a redelivery).
    init?(stored json: JSONValue, keepingState: Bool) {
        guard let id = json["id"]?.stringValue, let type = json["type"]?.stringValue else { return nil }
        let contentType = json["datacontenttype"]?.stringValue ?? ""
        var data: [UInt8] = []
        if let value = json["data"] {
            // Data that is not JSON was rendered as a JSON string: it comes back as its text.
            if case .string(let text) = value, !contentType.isEmpty, !Self.isJSON(contentType: contentType) {
                data = Array(text.utf8)
            } else {
                var writer = JSONWriter()
                writer.value(value)
                data = writer.bytes
            }
        }
        self.init(id: id, source: json["source"]?.stringValue ?? "", type: type, subject: json["subject"]?.stringValue ?? "", data: data,
                  contentType: contentType == "application/json" ? "" : contentType, producer: json["producer"]?.stringValue ?? "",
                  timeUnixNanos: Timestamp.parseRFC3339(json["time"]?.stringValue ?? "") ?? 0,
                  sequence: UInt64(json["sequence"]?.stringValue ?? "") ?? 0,
                  state: keepingState ? json["orderstate"]?.stringValue ?? "" : "")
    }

    /// "application/json", "application/cloudevents+json", "text/json; charset=utf-8"... (empty means JSON).
    static func isJSON(contentType: String) -> Bool {
        contentType.isEmpty || (contentType.split(separator: ";").first ?? "").filter { $0 != " " }.lowercased().hasSuffix("json")
    }
}
