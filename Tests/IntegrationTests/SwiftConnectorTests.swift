import Foundation
import Testing

/// A connector written in Swift with the plugin kit (Plugins/HelloConnector) gets the same
/// ABI 1.2 callbacks and status queries as the C connector: authenticated callbacks move
/// orders, a wrong token is 401, and the reconciler asks it about stale orders.
@Suite struct SwiftConnectorTests {
    static let hello = """
          hello:
            kind: connector
            library: \(try! Products.library("HelloConnector"))
            reconcile: {interval_ms: 0}
            config: {token: s3cret}
        """

    @Test func callbacksAndStatusQueriesThroughTheSwiftKit() async throws {
        let h = try await HubHarness.start(extra: Self.hello)
        defer { Task { await h.stop() } }
        let created = try await HTTP.postOrder(h.baseURL, key: "swift-conn-1", SampleOrders.order(ref: "SC-1"))
        let id = try #require(created.object["id"] as? String)
        #expect(await HTTP.eventually(10) {
            ((try? await HTTP.send("GET", h.baseURL + "/v1/orders/\(id)"))?.object["timeline"] as? [[String: Any]] ?? [])
                .contains { ($0["data"] as? [String: Any])?["connector"] as? String == "hello" }
        })
        func callback(_ status: String, token: String?) async throws -> HTTPResult {
            var headers = ["ce-specversion": "1.0", "ce-id": "h-\(status)", "ce-source": "/hello", "ce-type": "t", "Content-Type": "application/json"]
            headers["X-Token"] = token
            return try await HTTP.send("POST", h.baseURL + "/v1/connectors/hello/events", headers: headers,
                                       body: Data(#"{"order":"\#(id)","status":"\#(status)"}"#.utf8))
        }
        #expect(try await callback("picked", token: "guess").status == 401)
        let picked = try await callback("picked", token: "s3cret")
        #expect(picked.status == 202, "\(picked.text)")
        #expect(try await HTTP.send("GET", h.baseURL + "/v1/orders/\(id)").object["state"] as? String == "picked")
        let round = try await HTTP.send("POST", h.baseURL + "/v1/connectors/hello/reconcile?stale_after_ms=0")
        #expect(round.object["consistent"] as? Int == 1, "\(round.text)")
        let board = try await HTTP.send("GET", h.baseURL + "/v1/connectors").text
        #expect(board.contains("/v1/connectors/hello/events"))
    }

    @Test func theConformanceCheckSeesTheUnsignedCallbackRefused() throws {
        let result = try ChildProcess.run(["plugin", "check", try Products.library("HelloConnector"), "--config", #"{"token":"t"}"#])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("ok   unsigned callback refused: DENIED: missing X-Token header"))
    }
}
