import Foundation
import HubDevTools
import Testing

/// Status callbacks into POST /v1/connectors/{slot}/events: CloudEvents in binary and
/// structured mode, HMAC-checked (no signature, no effect), duplicates dropped, never
/// backwards, and the webhook reply codes.
@Suite struct ConnectorCallbackTests {
    static let payloadType = "com.shipbob.order.status.v1"

    private func wmsPayload(_ order: String, _ status: String) -> Data {
        Data(#"{"id":1,"reference_id":"\#(order)","status":"\#(status)","updated_at":"2026-11-26T10:00:00Z"}"#.utf8)
    }

    private func binary(_ h: VendorHarness, id: String, body: Data, secret: String? = "wms-secret", contentType: String = "application/json") async throws -> HTTPResult {
        var headers = ["ce-specversion": "1.0", "ce-id": id, "ce-source": "/vendors/wms", "ce-type": Self.payloadType, "Content-Type": contentType]
        if let secret { headers["X-Signature"] = "sha256=" + FakeVendor.signature(Array(body), secret: secret) }
        return try await HTTP.send("POST", h.baseURL + "/v1/connectors/wms/events", headers: headers, body: body)
    }

    private func acknowledgedOrder(_ h: VendorHarness, _ ref: String) async throws -> String {
        let id = try await h.order(ref)
        #expect(try await HTTP.eventually(10) { try await h.state(id) == "acknowledged" })
        return id
    }

    /// The vendor's own callbacks are off: these tests send them by hand.
    private var manual: VendorHarness.Options {
        var options = VendorHarness.Options()
        options.callbacks = false
        return options
    }

    @Test func signedBinaryAndStructuredCallbacksMoveTheOrder() async throws {
        let h = try await VendorHarness.start(manual, configuration: .init(progress: false))
        defer { Task { await h.stop() } }
        let id = try await acknowledgedOrder(h, "CB-1")
        let picked = try await binary(h, id: "evt-1", body: wmsPayload(id, "Picked"))
        #expect(picked.status == 202, "\(picked.text)")
        #expect(picked.object["applied"] as? Bool == true)
        #expect(try await h.state(id) == "picked")
        // Structured mode: the whole CloudEvent is the body, and the signature covers it.
        let event = #"{"specversion":"1.0","id":"evt-2","source":"/vendors/wms","type":"\#(Self.payloadType)","datacontenttype":"application/json","data":{"id":1,"reference_id":"\#(id)","status":"Packed"}}"#
        let body = Data(event.utf8)
        let packed = try await HTTP.send("POST", h.baseURL + "/v1/connectors/wms/events", headers: [
            "Content-Type": "application/cloudevents+json", "X-Signature": "sha256=" + FakeVendor.signature(Array(body), secret: "wms-secret"),
        ], body: body)
        #expect(packed.status == 202, "\(packed.text)")
        #expect(try await h.state(id) == "packed")
        let reported = try await h.timeline(id).filter { $0["type"] as? String == "com.orderhub.fulfillment.status_reported.v1" }
        #expect(reported.count == 2)
        let data = try #require(reported.last?["data"] as? [String: Any])
        #expect(data["status"] as? String == "Packed")
        #expect(data["previous_state"] as? String == "picked")
        #expect((data["callback"] as? [String: Any])?["id"] as? String == "evt-2")
    }

    @Test func unsignedOrBadlySignedCallbacksAre401AndStoreNothing() async throws {
        let h = try await VendorHarness.start(manual, configuration: .init(progress: false))
        defer { Task { await h.stop() } }
        let id = try await acknowledgedOrder(h, "CB-2")
        let before = try await h.timeline(id).count
        let unsigned = try await binary(h, id: "evt-x", body: wmsPayload(id, "Shipped"), secret: nil)
        #expect(unsigned.status == 401)
        #expect(unsigned.object["message"] as? String == "missing X-Signature header: callbacks must be signed (HMAC-SHA256 of the body)")
        let forged = try await binary(h, id: "evt-y", body: wmsPayload(id, "Shipped"), secret: "guess")
        #expect(forged.status == 401)
        #expect(try await h.timeline(id).count == before)
        #expect(try await h.state(id) == "acknowledged")
        // Signed for one body, sent with another: also refused.
        var headers = ["ce-specversion": "1.0", "ce-id": "evt-z", "ce-source": "/vendors/wms", "ce-type": Self.payloadType, "Content-Type": "application/json"]
        headers["X-Signature"] = "sha256=" + FakeVendor.signature(Array(wmsPayload(id, "Picked")), secret: "wms-secret")
        let swapped = try await HTTP.send("POST", h.baseURL + "/v1/connectors/wms/events", headers: headers, body: wmsPayload(id, "Shipped"))
        #expect(swapped.status == 401)
    }

    @Test func duplicatesAreDroppedAndAnOrderNeverMovesBack() async throws {
        let h = try await VendorHarness.start(manual, configuration: .init(progress: false))
        defer { Task { await h.stop() } }
        let id = try await acknowledgedOrder(h, "CB-3")
        #expect(try await binary(h, id: "s-1", body: wmsPayload(id, "Shipped")).status == 202)
        let again = try await binary(h, id: "s-1", body: wmsPayload(id, "Shipped"))
        #expect(again.status == 202)
        #expect(again.object["duplicate"] as? Bool == true)
        // Skipped picked and packed (callbacks lost): shipped directly, forward only.
        #expect(try await h.state(id) == "shipped")
        let late = try await binary(h, id: "p-1", body: wmsPayload(id, "Packed"))
        #expect(late.status == 202)
        #expect(late.object["applied"] as? Bool == false)
        #expect(try await h.state(id) == "shipped")
        let reported = try await h.timeline(id).filter { $0["type"] as? String == "com.orderhub.fulfillment.status_reported.v1" }
        #expect(reported.count == 2, "the duplicate is not recorded; the late one is")
        #expect(reported.last?["state"] == nil, "the late 'Packed' changed no state")
    }

    @Test func replyCodesFollowTheWebhookSpec() async throws {
        let h = try await VendorHarness.start(manual, configuration: .init(progress: false))
        defer { Task { await h.stop() } }
        let id = try await acknowledgedOrder(h, "CB-4")
        let plain = try await HTTP.send("POST", h.baseURL + "/v1/connectors/wms/events", headers: ["Content-Type": "text/plain"], body: Data("hi".utf8))
        #expect(plain.status == 415)
        let batch = try await HTTP.send("POST", h.baseURL + "/v1/connectors/wms/events",
                                        headers: ["Content-Type": "application/cloudevents-batch+json"], body: Data("[]".utf8))
        #expect(batch.status == 415)
        let noID = try await HTTP.send("POST", h.baseURL + "/v1/connectors/wms/events", headers: [
            "ce-specversion": "1.0", "ce-source": "/x", "ce-type": "t", "Content-Type": "application/json"], body: wmsPayload(id, "Picked"))
        #expect(noID.status == 400)
        #expect(noID.text.contains("header:ce-id"))
        let unknown = try await HTTP.send("POST", h.baseURL + "/v1/connectors/nope/events", headers: [
            "ce-specversion": "1.0", "ce-id": "1", "ce-source": "/x", "ce-type": "t", "Content-Type": "application/json"], body: Data("{}".utf8))
        #expect(unknown.status == 404)
        let ghost = try await binary(h, id: "g-1", body: wmsPayload("ord_NOPE", "Picked"))
        #expect(ghost.status == 404)
        #expect(ghost.text.contains("ord_NOPE"))
    }

    @Test func theVendorsOwnCallbacksFlowEndToEnd() async throws {
        var options = VendorHarness.Options()
        options.connectors = [.wms, .carrier]
        let h = try await VendorHarness.start(options, configuration: .init(stepMillis: 30))
        defer { Task { await h.stop() } }
        let id = try await h.order("E2E-1")
        // Warehouse: picked, packed, shipped; then the carrier's delivered.
        #expect(try await HTTP.eventually(15) { try await h.state(id) == "delivered" })
        // Two systems report concurrently; whatever their order, the state only moved forward.
        let chain = ["received", "accepted", "released", "dispatched", "acknowledged", "picked", "packed", "shipped", "delivered"]
        let ranks = try await h.timeline(id).compactMap { ($0["state"] as? String).flatMap(chain.firstIndex) }
        #expect(ranks == ranks.sorted(), "\(ranks)")
        #expect(ranks.last == chain.count - 1)
        let health = try await HTTP.send("GET", h.baseURL + "/v1/health/fulfillment")
        let latency = try #require(health.object["first_status_latency_ms"] as? [String: Any])
        #expect(latency["samples"] as? Int == 1)
        #expect((latency["p50"] as? Double ?? -1) > 0)
    }
}
