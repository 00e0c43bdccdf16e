import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Real HTTP over loopback for tests.
struct HTTPResult {
    let status: Int
    let headers: [String: String]
    let body: Data
    var json: Any? { try? JSONSerialization.jsonObject(with: body) }
    var object: [String: Any] { json as? [String: Any] ?? [:] }
    var text: String { String(decoding: body, as: UTF8.self) }
}

enum HTTP {
    static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 20
        return URLSession(configuration: configuration)
    }()

    static func send(_ method: String, _ url: String, headers: [String: String] = [:], body: Data? = nil) async throws -> HTTPResult {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = body
        let (data, response) = try await session.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (name, value) in http.allHeaderFields { fields[String(describing: name).lowercased()] = String(describing: value) }
        return HTTPResult(status: http.statusCode, headers: fields, body: data)
    }

    static func postOrder(_ base: String, key: String, _ body: String) async throws -> HTTPResult {
        try await send("POST", base + "/v1/orders", headers: ["Idempotency-Key": key, "Content-Type": "application/json"], body: Data(body.utf8))
    }

    /// Polls until `condition` holds or `seconds` pass (for asynchronous dispatch).
    static func eventually(_ seconds: Double = 10, _ condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return try await condition()
    }
}

enum SampleOrders {
    static func order(ref: String = "WEB-1", price: String = "129.90", quantity: Int = 2, presale: Bool = false) -> String {
        """
        {"external_ref":"\(ref)","channel":"web","currency":"BRL","customer":{"id":"c-42","tier":"gold"},
         "items":[{"sku":"SKU-1","quantity":\(quantity),"unit_price":"\(price)","category":"toys","presale":\(presale)}],
         "ship_to":{"country":"BR","region":"SP","postal_code":"01001-000"},"payment":{"method":"credit_card"},
         "shipping":{"fee":"15.00","promised_days":12},"created_at":"2026-11-25T20:15:00Z","client_ip":"203.0.113.7"}
        """
    }
}
