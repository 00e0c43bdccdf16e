import Foundation
import HubCore
import HubDevTools
import Testing

/// The hub end to end: real plugins through dlopen, real SQLite, real HTTP on loopback,
/// a fake WMS that injects faults.
@Suite(.serialized) struct HubAPITests {
    @Test func anOrderFlowsThroughEveryPlugin() async throws {
        let h = try await HubHarness.start()
        defer { Task { await h.stop() } }
        let created = try await HTTP.postOrder(h.baseURL, key: "flow-1", SampleOrders.order(price: "200.00"))
        #expect(created.status == 201)
        let id = try #require(created.object["id"] as? String)
        #expect(created.headers["location"] == "/v1/orders/\(id)")
        #expect(created.object["state"] as? String == "dispatched")

        var order: [String: Any] = [:]
        let acknowledged = try await HTTP.eventually {
            order = try await HTTP.send("GET", h.baseURL + "/v1/orders/\(id)").object
            return order["state"] as? String == "acknowledged"
        }
        #expect(acknowledged)
        let timeline = order["timeline"] as? [[String: Any]] ?? []
        let producers = Set(timeline.compactMap { $0["producer"] as? String })
        #expect(producers.isSuperset(of: ["host", "rules", "predictor", "wms"]), "\(producers)")
        let types = timeline.compactMap { $0["type"] as? String }
        #expect(types == [EventTypes.received, EventTypes.accepted, EventTypes.rulesEvaluated, EventTypes.riskScored,
                          EventTypes.statusChanged, EventTypes.dispatchRequested, EventTypes.dispatchAcknowledged])
        #expect(timeline.map { $0["sequence"] as? Int ?? 0 } == Array(1...7))
        let rules = timeline[2]["data"] as? [String: Any]
        #expect(rules?["discount_minor"] as? Int == 5000, "400.00 spent: the spend-300-get-50 rule fires")
        let risk = timeline[3]["data"] as? [String: Any]
        #expect((risk?["score"] as? Double).map { $0 > 0 && $0 < 1 } == true)
        #expect((timeline[0]["time"] as? String)?.count == 27, "microsecond timestamps")

        // The WMS got exactly one instruction, keyed for idempotency, carrying the order.
        #expect(h.wms.accepted.count == 1)
        #expect(h.wms.accepted.first?.idempotencyKey == "\(id).dispatch")
        let body = try JSONSerialization.jsonObject(with: Data(h.wms.accepted[0].body)) as? [String: Any]
        #expect(body?["idempotency_key"] as? String == "flow-1")
        #expect((body?["order"] as? [String: Any])?["external_ref"] as? String == "WEB-1")

        let events = try await HTTP.send("GET", h.baseURL + "/v1/orders/\(id)/events")
        #expect(events.headers["content-type"] == "application/cloudevents-batch+json")
        let cloudEvents = events.json as? [[String: Any]] ?? []
        #expect(cloudEvents.count == 7)
        #expect(cloudEvents.allSatisfy { $0["specversion"] as? String == "1.0" && $0["subject"] as? String == id })
        #expect(Set(cloudEvents.compactMap { $0["id"] as? String }).count == 7)
    }

    @Test func idempotencyKeysReplayOrConflict() async throws {
        let h = try await HubHarness.start()
        defer { Task { await h.stop() } }
        let first = try await HTTP.postOrder(h.baseURL, key: "same", SampleOrders.order())
        let again = try await HTTP.postOrder(h.baseURL, key: "same", SampleOrders.order())
        #expect(first.status == 201)
        #expect(again.status == 201)
        #expect(again.body == first.body)
        #expect(again.headers["idempotent-replayed"] == "true")
        let other = try await HTTP.postOrder(h.baseURL, key: "same", SampleOrders.order(ref: "WEB-2"))
        #expect(other.status == 409)
        #expect(other.object["error"] as? String == "idempotency_conflict")
        let missing = try await HTTP.send("POST", h.baseURL + "/v1/orders", headers: ["Content-Type": "application/json"],
                                          body: Data(SampleOrders.order().utf8))
        #expect(missing.status == 400)
        #expect(h.hub.metrics.acceptedCount == 1, "replays create nothing")
    }

    @Test func concurrentRequestsWithOneKeyCreateOneOrder() async throws {
        let h = try await HubHarness.start()
        defer { Task { await h.stop() } }
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<20 { group.addTask { try await HTTP.postOrder(h.baseURL, key: "race", SampleOrders.order()).status } }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.allSatisfy { $0 == 201 || $0 == 409 })
        #expect(h.hub.metrics.acceptedCount == 1)
    }

    @Test func badOrdersGetFieldPathsAndNoServerError() async throws {
        let h = try await HubHarness.start()
        defer { Task { await h.stop() } }
        let invalid = try await HTTP.postOrder(h.baseURL, key: "bad-1", #"{"channel":"web","items":[{"sku":"A","quantity":-1,"unit_price":"x"}]}"#)
        #expect(invalid.status == 422)
        let fields = (invalid.object["problems"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
        #expect(fields.contains("items[0].quantity"))
        #expect(fields.contains("items[0].unit_price"))
        #expect(fields.contains("external_ref"))
        for body in ["", "not json", "[1,2]", "{\"items\": {}}", String(repeating: "[", count: 1000)] {
            let response = try await HTTP.postOrder(h.baseURL, key: "bad-\(body.count)", body)
            #expect((400..<500).contains(response.status), "\(body.prefix(20)) -> \(response.status)")
        }
        let form = try await HTTP.send("POST", h.baseURL + "/v1/orders", headers: ["Idempotency-Key": "f", "Content-Type": "text/plain"], body: Data("x".utf8))
        #expect(form.status == 415)
        let huge = try await HTTP.postOrder(h.baseURL, key: "huge", String(repeating: " ", count: 2 << 20))
        #expect(huge.status == 413)
        #expect(try await HTTP.send("GET", h.baseURL + "/v1/orders/ord_nope").status == 404)
        #expect(h.hub.metrics.acceptedCount == 0)
    }

    @Test func holdRuleThenManualReleaseDispatches() async throws {
        let h = try await HubHarness.start()
        defer { Task { await h.stop() } }
        let created = try await HTTP.postOrder(h.baseURL, key: "big", SampleOrders.order(price: "3000.00", quantity: 2))
        #expect(created.object["state"] as? String == "on_hold")
        let id = try #require(created.object["id"] as? String)
        let allowed = try await HTTP.send("GET", h.baseURL + "/v1/orders/\(id)/transitions").object
        #expect((allowed["allowed"] as? [[String: Any]])?.compactMap { $0["to"] as? String } == ["released", "canceled", "rejected"])
        let skip = try await HTTP.send("POST", h.baseURL + "/v1/orders/\(id)/transitions", headers: ["Content-Type": "application/json"],
                                       body: Data(#"{"to":"dispatched"}"#.utf8))
        #expect(skip.status == 409)
        #expect((skip.object["message"] as? String)?.contains("allowed: released, canceled, rejected") == true)
        let unknown = try await HTTP.send("POST", h.baseURL + "/v1/orders/\(id)/transitions", headers: ["Content-Type": "application/json"],
                                          body: Data(#"{"to":"teleported"}"#.utf8))
        #expect(unknown.status == 422)
        #expect(h.wms.accepted.isEmpty, "a held order is not dispatched")
        let release = try await HTTP.send("POST", h.baseURL + "/v1/orders/\(id)/transitions", headers: ["Content-Type": "application/json"],
                                          body: Data(#"{"to":"released","reason":"checked by Ana"}"#.utf8))
        #expect(release.status == 200)
        #expect(release.object["state"] as? String == "dispatched")
        #expect(await HTTP.eventually { h.wms.accepted.count == 1 })
    }

    @Test func wmsFaultsAreRetriedAndEveryAttemptIsOnTheTimeline() async throws {
        let h = try await HubHarness.start(maxAttempts: 4)
        defer { Task { await h.stop() } }
        h.wms.inject([.status(503), .tooManyRequests(retryAfterSeconds: 1), .delay(milliseconds: 1500)])
        let id = try #require(try await HTTP.postOrder(h.baseURL, key: "faulty", SampleOrders.order()).object["id"] as? String)
        var timeline: [[String: Any]] = []
        // About 3 s alone; generous, as the whole suite runs in parallel on two cores.
        let acknowledged = try await HTTP.eventually(40) {
            let order = try await HTTP.send("GET", h.baseURL + "/v1/orders/\(id)").object
            timeline = order["timeline"] as? [[String: Any]] ?? []
            return order["state"] as? String == "acknowledged"
        }
        #expect(acknowledged, "timeline: \(timeline.map { "\($0["type"] ?? "") \(($0["data"] as? [String: Any])?["error"] ?? "")" })")
        let attempts = timeline.filter { $0["type"] as? String == EventTypes.dispatchAttempted }
        #expect(attempts.count == 3, "503, 429 and a timeout, each recorded")
        let errors = attempts.compactMap { ($0["data"] as? [String: Any])?["error"] as? String }
        #expect(errors.contains { $0.contains("HTTP 503") })
        #expect(errors.contains { $0.contains("HTTP 429") })
        #expect(errors.contains { $0.contains("timed out") || $0.contains("Timeout") })
        #expect(h.wms.accepted.count == 1, "the timed-out attempt and its retry share one idempotency key")
    }

    @Test func dispatchThatNeverSucceedsEndsReleasedWithTheReason() async throws {
        let h = try await HubHarness.start(maxAttempts: 2)
        defer { Task { await h.stop() } }
        h.wms.inject([.status(500), .status(500)])
        let id = try #require(try await HTTP.postOrder(h.baseURL, key: "doomed", SampleOrders.order()).object["id"] as? String)
        var order: [String: Any] = [:]
        #expect(try await HTTP.eventually {
            order = try await HTTP.send("GET", h.baseURL + "/v1/orders/\(id)").object
            return order["state"] as? String == "released"
        })
        let last = (order["timeline"] as? [[String: Any]])?.last
        #expect(last?["type"] as? String == EventTypes.dispatchFailed)
        #expect(((last?["data"] as? [String: Any])?["error"] as? String)?.contains("HTTP 500") == true)
        #expect(order["allowed_transitions"] as? [String] == ["on_hold", "dispatched", "canceled"])

        // A person asks the hub to dispatch again; the WMS is healthy now.
        let again = try await HTTP.send("POST", h.baseURL + "/v1/orders/\(id)/transitions", headers: ["Content-Type": "application/json"],
                                        body: Data(#"{"to":"dispatched","reason":"WMS back"}"#.utf8))
        #expect(again.status == 200)
        #expect(await HTTP.eventually { h.wms.accepted.count == 1 })
        let resent = try JSONSerialization.jsonObject(with: Data(h.wms.accepted[0].body)) as? [String: Any]
        #expect(resent?["idempotency_key"] as? String == "doomed")
        #expect(h.wms.accepted[0].idempotencyKey == "\(id).dispatch.2", "a new dispatch gets a new key")
        let refused = try await HTTP.send("POST", h.baseURL + "/v1/orders/\(id)/transitions", headers: ["Content-Type": "application/json"],
                                          body: Data(#"{"to":"delivered"}"#.utf8))
        #expect(refused.status == 422)
    }

    @Test func statusEndpointsDescribeTheHub() async throws {
        let h = try await HubHarness.start()
        defer { Task { await h.stop() } }
        _ = try await HTTP.postOrder(h.baseURL, key: "m1", SampleOrders.order())
        let plugins = try await HTTP.send("GET", h.baseURL + "/v1/plugins").json as? [[String: Any]] ?? []
        #expect(plugins.compactMap { $0["slot"] as? String } == ["bus", "rules", "predictor", "wms"])
        #expect(plugins.allSatisfy { ($0["sha256"] as? String)?.count == 64 && $0["abi"] as? String == "1.4" })
        let health = try await HTTP.send("GET", h.baseURL + "/v1/health")
        #expect(health.status == 200)
        #expect(health.object["status"] as? String == "ok")
        let metrics = try await HTTP.send("GET", h.baseURL + "/metrics").text
        for name in ["orderhub_orders_accepted_total 1", "orderhub_stage_duration_seconds_bucket{stage=\"rules\"",
                     "orderhub_events_appended_total", "orderhub_plugin_call_errors_total", "orderhub_plugin_rules_evaluated_total{slot=\"rules\"} 1"] {
            #expect(metrics.contains(name), "missing \(name)")
        }
        let lifecycle = try await HTTP.send("GET", h.baseURL + "/v1/lifecycle").object
        #expect((lifecycle["transitions"] as? [Any])?.count == Lifecycle.transitions.count)
    }

    @Test func openAPIDocumentMatchesTheRoutes() async throws {
        let h = try await HubHarness.start()
        defer { Task { await h.stop() } }
        let spec = try await HTTP.send("GET", h.baseURL + "/openapi.yaml")
        #expect(spec.status == 200)
        let text = spec.text
        #expect(text.hasPrefix("openapi: 3"))
        let routes = ["/v1/orders:", "/v1/orders/{id}:", "/v1/orders/{id}/events:", "/v1/orders/{id}/transitions:",
                      "/v1/plugins:", "/v1/predictions/suggestions:", "/v1/lifecycle:", "/v1/health:", "/metrics:", "/openapi.yaml:",
                      "/v1/rulesets:", "/v1/rulesets/{ruleset}/versions:", "/v1/rulesets/{ruleset}/versions/{version}:",
                      "/v1/rulesets/{ruleset}/publish:", "/v1/rulesets/{ruleset}/rollback:", "/v1/rulesets/{ruleset}/simulate:",
                      "/v1/rulesets/{ruleset}/lint:", "/v1/promotions/usage:", "/v1/connectors:", "/v1/connectors/{slot}/events:",
                      "/v1/connectors/{slot}/reconcile:", "/v1/dispatch/dead-letters:", "/v1/dispatch/dead-letters/{event}/replay:",
                      "/v1/health/fulfillment:", "/v1/admin/composition:", "/v1/admin/apply:", "/v1/admin/slots/{slot}/promote:",
                      "/v1/admin/slots/{slot}/canary-rollback:", "/v1/admin/slots/{slot}/rollback:", "/v1/audit:"]
        let specPaths = text.split(separator: "\n").filter { $0.hasPrefix("  /") }.map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(Set(specPaths) == Set(routes), "spec paths \(specPaths) vs server routes \(routes)")
        // Every documented path answers something other than 404 on the live server.
        for path in ["/v1/plugins", "/v1/predictions/suggestions", "/v1/lifecycle", "/v1/health", "/metrics", "/openapi.yaml",
                     "/v1/connectors", "/v1/dispatch/dead-letters", "/v1/health/fulfillment", "/v1/admin/composition", "/v1/audit"] {
            #expect(try await HTTP.send("GET", h.baseURL + path).status != 404, "\(path)")
        }
    }
}
