import Foundation
import HubDevTools
import Testing

/// The C HTTP connector with the shipped vendor profiles, against a misbehaving stand-in
/// over real HTTP: requests rendered from the profiles, the three ways to authenticate,
/// Retry-After, the circuit breaker, per-order ordering, dead letters and their replay.
@Suite struct ConnectorDispatchTests {
    private func types(_ timeline: [[String: Any]]) -> [String] { timeline.compactMap { $0["type"] as? String } }

    @Test func wmsOrderIsCreatedFromTheProfileWithSignedRequests() async throws {
        let h = try await VendorHarness.start(configuration: .init(progress: false))
        defer { Task { await h.stop() } }
        let id = try await h.order("WMS-1")
        #expect(try await HTTP.eventually(10) { try await h.state(id) == "acknowledged" })
        // The vendor checked the HMAC signature (a wrong one is 401) and created one record.
        #expect(h.vendor.ledger().effects[.wms]?[id] == 1)
        #expect(h.vendor.status(.wms, reference: id) == "Processing")
        let ack = try #require(try await h.timeline(id).last { $0["type"] as? String == "com.orderhub.dispatch.acknowledged.v1" })
        let data = try #require(ack["data"] as? [String: Any])
        #expect(data["connector"] as? String == "wms")
        #expect((data["latency_ms"] as? Double ?? -1) >= 0)
        let reply = try #require((data["ack"] as? [String: Any])?["reply"] as? [String: Any])
        #expect(reply["reference_id"] as? String == id)
        #expect((data["ack"] as? [String: Any])?["operation"] as? String == "create")
    }

    @Test func tmsUsesOAuth2AndRefreshesAnExpiredToken() async throws {
        var options = VendorHarness.Options()
        options.connectors = [.tms]
        let h = try await VendorHarness.start(options, configuration: .init(tokenLifetimeSeconds: 1, progress: false))
        defer { Task { await h.stop() } }
        let first = try await h.order("TMS-1")
        #expect(try await HTTP.eventually(10) { try await h.state(first) == "acknowledged" })
        let second = try await h.order("TMS-2")
        #expect(try await HTTP.eventually(10) { try await h.state(second) == "acknowledged" })
        #expect(h.vendor.ledger().tokensIssued == 1, "one token serves both while it is valid")
        try await Task.sleep(for: .milliseconds(1200))
        let third = try await h.order("TMS-3")
        #expect(try await HTTP.eventually(10) { try await h.state(third) == "acknowledged" })
        #expect(h.vendor.ledger().tokensIssued == 2, "an expired token is fetched again")
        #expect(h.vendor.ledger().effects[.tms]?.count == 3)
    }

    @Test func carrierTakesAStaticKey() async throws {
        var options = VendorHarness.Options()
        options.connectors = [.carrier]
        let h = try await VendorHarness.start(options, configuration: .init(progress: false))
        defer { Task { await h.stop() } }
        let id = try await h.order("CAR-1")
        #expect(try await HTTP.eventually(10) { try await h.state(id) == "acknowledged" })
        #expect(h.vendor.status(.carrier, reference: id) == "pre_transit")
    }

    @Test func retryAfterIsHonouredAndEveryAttemptIsOnTheTimeline() async throws {
        let h = try await VendorHarness.start(configuration: .init(progress: false))
        defer { Task { await h.stop() } }
        h.vendor.inject([.tooManyRequests(retryAfterSeconds: 1), .status(503)])
        let started = Date()
        let id = try await h.order("RA-1")
        #expect(try await HTTP.eventually(15) { try await h.state(id) == "acknowledged" })
        #expect(Date().timeIntervalSince(started) >= 1.0, "the second attempt waited for Retry-After")
        let attempts = try await h.timeline(id).filter { $0["type"] as? String == "com.orderhub.dispatch.attempt_failed.v1" }
        #expect(attempts.count == 2)
        let first = try #require(attempts.first?["data"] as? [String: Any])
        #expect(first["retry_after_ms"] as? Int == 1000)
        #expect((first["retry_in_ms"] as? Int ?? 0) >= 1000)
        #expect(h.vendor.ledger().effects[.wms]?[id] == 1)
    }

    @Test func theCircuitOpensAfterRepeatedFailuresAndClosesOnRecovery() async throws {
        var options = VendorHarness.Options()
        options.circuit = "{failures: 3, open_ms: 500}"
        options.concurrency = 1
        let h = try await VendorHarness.start(options, configuration: .init(progress: false))
        defer { Task { await h.stop() } }
        h.vendor.inject(Array(repeating: .status(503), count: 3))
        let id = try await h.order("CB-1")
        #expect(try await HTTP.eventually(5) { (try await HTTP.send("GET", h.baseURL + "/v1/connectors")).text.contains("\"circuit\":\"open\"") })
        #expect(try await HTTP.eventually(10) { try await h.state(id) == "acknowledged" })
        let board = try await HTTP.send("GET", h.baseURL + "/v1/connectors")
        #expect(board.text.contains("\"circuit\":\"closed\""))
        #expect(board.text.contains("\"circuit_opened\":1"))
        #expect(try await HTTP.send("GET", h.baseURL + "/metrics").text.contains("orderhub_connector_circuit_opened_total 1"))
    }

    @Test func aCancelNeverOvertakesTheCreate() async throws {
        let h = try await VendorHarness.start(configuration: .init(progress: false))
        defer { Task { await h.stop() } }
        // The create fails twice; the cancel, committed meanwhile, must wait for it.
        h.vendor.inject([.status(503), .status(503)])
        let id = try await h.order("ORD-1")
        let cancel = try await HTTP.send("POST", h.baseURL + "/v1/orders/\(id)/transitions", headers: ["Content-Type": "application/json"],
                                         body: Data(#"{"to":"canceled","reason":"customer asked"}"#.utf8))
        #expect(cancel.status == 200, "\(cancel.text)")
        let cancelled = await HTTP.eventually(10) { h.vendor.status(.wms, reference: id) == "Cancelled" }
        let story = try await h.timeline(id).map { "\($0["type"] ?? "") \($0["data"] ?? "")" }.joined(separator: "\n")
        #expect(cancelled, "\(story)")
        let dead = try await HTTP.send("GET", h.baseURL + "/v1/dispatch/dead-letters")
        #expect((dead.object["dead_letters"] as? [Any])?.isEmpty == true, "\(dead.text)")
    }

    @Test func aRefusedDispatchIsADeadLetterUntilReplayed() async throws {
        var options = VendorHarness.Options()
        options.maxAttempts = 2
        let h = try await VendorHarness.start(options, configuration: .init(progress: false))
        defer { Task { await h.stop() } }
        h.vendor.inject([.status(400)])
        let id = try await h.order("DL-1")
        #expect(try await HTTP.eventually(10) { try await h.state(id) == "released" })
        let list = try await HTTP.send("GET", h.baseURL + "/v1/dispatch/dead-letters")
        let entries = try #require(list.object["dead_letters"] as? [[String: Any]])
        #expect(entries.count == 1)
        let event = try #require(entries.first?["event_id"] as? String)
        #expect(entries.first?["order_id"] as? String == id)
        #expect(entries.first?["status"] as? String == "INVALID")
        // The CLI lists it too, against the running hub.
        let cli = try ChildProcess.run(["dispatch", "dead-letters", "--hub", h.baseURL])
        #expect(cli.status == 0 && cli.stdout.contains(event), "\(cli.stdout)\(cli.stderr)")
        let replay = try ChildProcess.run(["dispatch", "replay", event, "--hub", h.baseURL])
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(try await HTTP.eventually(10) { try await h.state(id) == "acknowledged" })
        #expect(h.vendor.ledger().effects[.wms]?[id] == 1)
        let after = try await HTTP.send("GET", h.baseURL + "/v1/dispatch/dead-letters")
        #expect((after.object["dead_letters"] as? [Any])?.isEmpty == true)
        #expect(types(try await h.timeline(id)).contains("com.orderhub.dispatch.replayed.v1"))
        let again = try ChildProcess.run(["dispatch", "replay", event, "--hub", h.baseURL])
        #expect(again.status != 0 && again.stderr.contains("no dead letter"), "\(again.stderr)")
    }

    @Test func aProbeThatRunsOutOfAttemptsDoesNotStallTheConnector() async throws {
        var options = VendorHarness.Options()
        options.maxAttempts = 2
        options.circuit = "{failures: 1, open_ms: 100}"
        options.concurrency = 1
        let h = try await VendorHarness.start(options, configuration: .init(progress: false))
        defer { Task { await h.stop() } }
        h.vendor.inject([.status(503), .status(503)])
        let lost = try await h.order("STALL-1")
        #expect(try await HTTP.eventually(10) { try await h.state(lost) == "released" }, "dead-lettered after its 2 attempts")
        let next = try await h.order("STALL-2")
        #expect(try await HTTP.eventually(10) { try await h.state(next) == "acknowledged" }, "the circuit recovered for the next order")
    }

    @Test func aConnectorAddedLaterIsNotSentThePast() async throws {
        let h = try await VendorHarness.start(configuration: .init(progress: false))
        let old = try await h.order("PAST-1")
        #expect(try await HTTP.eventually(10) { try await h.state(old) == "acknowledged" })
        await h.stopHub()
        var options = VendorHarness.Options()
        options.connectors = [.wms, .tms]
        try h.writeManifest(options)
        try await h.serve()
        defer { Task { await h.stop() } }
        let new = try await h.order("PAST-2")
        #expect(await HTTP.eventually(10) { h.vendor.ledger().effects[.tms]?[new] == 1 })
        try await Task.sleep(for: .milliseconds(300))
        #expect(h.vendor.ledger().effects[.tms]?[old] == nil, "the new TMS slot starts at the log's tail")
        #expect(h.vendor.ledger().effects[.wms]?[old] == 1)
    }

    @Test func theCallbackEndpointIs404ForAConnectorWithoutCallbacks() async throws {
        let h = try await HubHarness.start()
        defer { Task { await h.stop() } }
        let response = try await HTTP.send("POST", h.baseURL + "/v1/connectors/wms/events", headers: [
            "ce-specversion": "1.0", "ce-id": "1", "ce-source": "/x", "ce-type": "t", "Content-Type": "application/json"], body: Data("{}".utf8))
        #expect(response.status == 404)
        #expect(response.text.contains("takes no callbacks"))
        #expect(try await HTTP.send("POST", h.baseURL + "/v1/connectors/wms/reconcile").status == 404)
    }
}
