import Foundation
import HubDevTools
import Testing

/// Lost callbacks are found by asking the system (reconciliation) and repaired, each repair
/// an event with before and after; the health board counts it.
@Suite struct ConnectorReconcileTests {
    @Test func lostCallbacksAreRepairedAndCounted() async throws {
        let h = try await VendorHarness.start(configuration: .init(stepMillis: 20))
        defer { Task { await h.stop() } }
        h.vendor.setCallbackFaults(.init(lost: 1.0))
        let id = try await h.order("REC-1")
        #expect(await HTTP.eventually(10) { h.vendor.status(.wms, reference: id) == "Shipped" })
        #expect(try await HTTP.eventually(10) { try await h.state(id) == "acknowledged" }, "no callback reached the hub")
        let round = try await HTTP.send("POST", h.baseURL + "/v1/connectors/wms/reconcile?stale_after_ms=0")
        #expect(round.status == 200, "\(round.text)")
        #expect(round.object["repaired"] as? Int == 1, "\(round.text)")
        #expect(try await h.state(id) == "shipped")
        let repair = try #require(try await h.timeline(id).last { $0["type"] as? String == "com.orderhub.fulfillment.repaired.v1" })
        let data = try #require(repair["data"] as? [String: Any])
        #expect(data["before"] as? String == "acknowledged")
        #expect(data["after"] as? String == "shipped")
        #expect(data["status"] as? String == "Shipped")
        // Then the two systems agree: nothing more to repair.
        let again = try await HTTP.send("POST", h.baseURL + "/v1/connectors/wms/reconcile?stale_after_ms=0")
        #expect(again.object["repaired"] as? Int == 0 && again.object["drift"] as? Int == 0, "\(again.text)")
        let health = try await HTTP.send("GET", h.baseURL + "/v1/health/fulfillment")
        let repairRate = try #require(health.object["auto_repair_rate"] as? [String: Any])
        #expect(repairRate["value"] as? Double == 1)
        #expect(repairRate["repaired"] as? Int == 1)
        let consistency = try #require(health.object["consistency_ratio"] as? [String: Any])
        #expect(consistency["value"] as? Double == 1)
        #expect(health.object["level"] as? String == "blue")
        let metrics = try await HTTP.send("GET", h.baseURL + "/metrics").text
        #expect(metrics.contains("orderhub_fulfillment_repairs_total 1"))
        #expect(metrics.contains("orderhub_fulfillment_consistency_ratio 1"))
    }

    @Test func theReconcilerRunsByItselfOnStaleOrders() async throws {
        var options = VendorHarness.Options()
        options.reconcile = "{interval_ms: 100, stale_after_ms: 200}"
        let h = try await VendorHarness.start(options, configuration: .init(stepMillis: 10))
        defer { Task { await h.stop() } }
        h.vendor.setCallbackFaults(.init(lost: 1.0))
        let ids = try await (0..<5).asyncMap { try await h.order("AUTO-\($0)") }
        #expect(try await HTTP.eventually(15) {
            for id in ids where try await h.state(id) != "shipped" { return false }
            return true
        })
    }

    @Test func aHubAheadOfTheSystemIsDriftNotARollback() async throws {
        let h = try await VendorHarness.start(configuration: .init(progress: false))
        defer { Task { await h.stop() } }
        let id = try await h.order("DRIFT-1")
        #expect(try await HTTP.eventually(10) { try await h.state(id) == "acknowledged" })
        // A (signed) callback said shipped; the vendor's own record still says Processing.
        let body = Data(#"{"id":1,"reference_id":"\#(id)","status":"Shipped"}"#.utf8)
        let sent = try await HTTP.send("POST", h.baseURL + "/v1/connectors/wms/events", headers: [
            "ce-specversion": "1.0", "ce-id": "d-1", "ce-source": "/vendors/wms", "ce-type": "t", "Content-Type": "application/json",
            "X-Signature": "sha256=" + FakeVendor.signature(Array(body), secret: "wms-secret")], body: body)
        #expect(sent.status == 202)
        let round = try await HTTP.send("POST", h.baseURL + "/v1/connectors/wms/reconcile?stale_after_ms=0")
        #expect(round.object["drift"] as? Int == 1, "\(round.text)")
        #expect(try await h.state(id) == "shipped")
        let drift = try #require(try await h.timeline(id).last { $0["type"] as? String == "com.orderhub.fulfillment.drift_detected.v1" })
        #expect((drift["data"] as? [String: Any])?["system_state"] as? String == "acknowledged")
        let health = try await HTTP.send("GET", h.baseURL + "/v1/health/fulfillment")
        #expect((health.object["consistency_ratio"] as? [String: Any])?["value"] as? Double == 0)
        #expect(health.status == 503 && health.object["level"] as? String == "red")
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for element in self { out.append(try await transform(element)) }
        return out
    }
}
