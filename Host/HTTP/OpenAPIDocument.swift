import Foundation

/// The OpenAPI 3 document shipped beside this file (openapi.yaml), read once.
enum OpenAPIDocument {
    static let text: String = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else { return "openapi: 3.0.3\ninfo: {title: OrderHub, version: unavailable}\npaths: {}\n" }
        return text
    }()
}
