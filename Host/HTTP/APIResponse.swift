import HTTPTypes
import HubCore
import HubJSON
import Hummingbird
import NIOCore

/// JSON responses and the error body every 4xx/5xx uses:
/// `{"error": "code", "message": "...", "problems": [{"field": "items[0].quantity", "message": "..."}]}`.
enum APIResponse {
    static func json(_ status: HTTPResponse.Status, _ bytes: [UInt8], headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func text(_ status: HTTPResponse.Status, _ text: String, contentType: String) -> Response {
        Response(status: status, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func error(_ status: HTTPResponse.Status, _ code: String, _ message: String, problems: [FieldProblem] = [],
                      headers: HTTPFields = [:]) -> Response {
        var writer = JSONWriter()
        writer.object { o in
            o.field("error", code)
            o.field("message", message)
            if !problems.isEmpty {
                o.array("problems") { a in
                    for problem in problems {
                        a.object { p in
                            p.field("field", problem.field)
                            p.field("message", problem.message)
                        }
                    }
                }
            }
        }
        return json(status, writer.bytes, headers: headers)
    }
}

extension HTTPField.Name {
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let idempotentReplayed = HTTPField.Name("Idempotent-Replayed")!
}
