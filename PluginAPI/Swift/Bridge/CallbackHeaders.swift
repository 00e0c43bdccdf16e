import HubJSON

/// The headers of a status callback, out of the host's `{"headers": {name: value}}`.
enum CallbackHeaders {
    static func parse(_ json: [UInt8]) -> [String: String] {
        guard let members = (try? JSONParser.parse(json))?["headers"]?.objectValue else { return [:] }
        var headers: [String: String] = [:]
        for (name, value) in members { if let text = value.stringValue { headers[name.lowercased()] = text } }
        return headers
    }
}
