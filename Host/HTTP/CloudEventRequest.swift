import HTTPTypes
import HubCore
import HubJSON
import Hummingbird

/// Reads a CloudEvent from an HTTP request (CloudEvents 1.0 HTTP protocol binding): structured
/// mode (`Content-Type: application/cloudevents+json`, the whole event in the body) or binary
/// mode (`ce-*` headers, the body is the data). Anything else is 415.
enum CloudEventRequest {
    enum Failure: Error {
        case unsupportedFormat(String)
        case invalid(field: String, message: String)
    }

    static func parse(_ request: Request, body: [UInt8]) -> Result<CallbackIntake.Callback, Failure> {
        let headers = request.headers.map { (name: $0.name.canonicalName, value: $0.value) }
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        if contentType.hasPrefix("application/cloudevents-batch") {
            return .failure(.unsupportedFormat("batched CloudEvents are not accepted; send one event per request"))
        }
        if contentType.hasPrefix("application/cloudevents") {
            guard contentType.hasPrefix("application/cloudevents+json") else {
                return .failure(.unsupportedFormat("structured mode is read as application/cloudevents+json only, not '\(contentType)'"))
            }
            return structured(body, headers: headers)
        }
        guard let version = header(headers, "ce-specversion") else {
            return .failure(.unsupportedFormat(
                "not a CloudEvent: send Content-Type application/cloudevents+json (structured mode) or ce-specversion, ce-id, ce-source and ce-type headers (binary mode)"))
        }
        guard version == "1.0" else { return .failure(.invalid(field: "header:ce-specversion", message: "'\(version)' is not supported; use 1.0")) }
        var attributes: [String: String] = [:]
        for name in ["id", "source", "type"] {
            guard let value = header(headers, "ce-\(name)"), !value.isEmpty else {
                return .failure(.invalid(field: "header:ce-\(name)", message: "required in binary mode"))
            }
            attributes[name] = value
        }
        return .success(CallbackIntake.Callback(
            id: attributes["id"]!, source: attributes["source"]!, type: attributes["type"]!, time: header(headers, "ce-time") ?? "",
            subject: header(headers, "ce-subject") ?? "", contentType: request.headers[.contentType] ?? "application/json", data: body,
            headers: headers, rawBody: body))
    }

    private static func structured(_ body: [UInt8], headers: [(name: String, value: String)]) -> Result<CallbackIntake.Callback, Failure> {
        guard let event = try? JSONParser.parse(body), case .object = event else {
            return .failure(.invalid(field: "body", message: "a structured CloudEvent is a JSON object"))
        }
        guard event["specversion"]?.stringValue == "1.0" else {
            return .failure(.invalid(field: "specversion", message: "required, and must be \"1.0\""))
        }
        var attributes: [String: String] = [:]
        for name in ["id", "source", "type"] {
            guard let value = event[name]?.stringValue, !value.isEmpty else {
                return .failure(.invalid(field: name, message: "required, a non-empty string"))
            }
            attributes[name] = value
        }
        var data = JSONWriter()
        data.value(event["data"] ?? .null)
        return .success(CallbackIntake.Callback(
            id: attributes["id"]!, source: attributes["source"]!, type: attributes["type"]!, time: event["time"]?.stringValue ?? "",
            subject: event["subject"]?.stringValue ?? "", contentType: event["datacontenttype"]?.stringValue ?? "application/json",
            data: data.bytes, headers: headers, rawBody: body))
    }

    private static func header(_ headers: [(name: String, value: String)], _ name: String) -> String? {
        headers.first { $0.name.lowercased() == name }?.value
    }
}
