import Foundation
import HubDevTools
import Testing

/// A business user's path over HTTP against a real hub (real dlopen, real SQLite): write
/// rules, simulate them on recorded orders, publish, see orders judged with explanations,
/// roll back; promotion limits exact under concurrent orders and across a restart.
@Suite(.serialized) struct RulesEngineTests {
    static let engine = """
          engine:
            kind: rules
            library: \(try! Products.library("RulesEngine"))
            config: {snapshot_interval_ms: 100}
        """

    static let checkout = """
        ruleset: checkout
        timezone: America/Sao_Paulo
        tables:
          presale_skus: {csv: "sku,release\\nSKU-PRE-3,2027-01-15\\n"}
        rules:
          - id: spend-300-get-50
            when: {">=": [{items_total: {"!": {in_table: [{var: sku}, presale_skus]}}}, 300]}
            then: [{discount: {amount: "50.00"}}]
            limits: {redemptions: 1000}
          - id: big-order-hold
            when: {">": [{items_total: []}, 5000]}
            then: [{hold: {type: manual_review, reason: "above 5,000.00"}}]
        """

    static func post(_ base: String, _ path: String, _ body: String = "", type: String = "application/json") async throws -> HTTPResult {
        try await HTTP.send("POST", base + path, headers: ["Content-Type": type], body: Data(body.utf8))
    }

    static func order(_ base: String, _ key: String, price: String, customer: String = "c-42", ip: String = "203.0.113.7", name: String = "Ana") async throws -> [String: Any] {
        let body = """
            {"external_ref":"\(key)","channel":"web","currency":"BRL","customer":{"id":"\(customer)"},
             "items":[{"sku":"SKU-1","quantity":1,"unit_price":"\(price)"}],
             "ship_to":{"country":"BR","region":"SP","postal_code":"01001-000","name":"\(name)"},"payment":{"method":"pix"},
             "created_at":"2026-11-25T20:15:00Z","client_ip":"\(ip)"}
            """
        let created = try await HTTP.postOrder(base, key: key, body)
        try #require(created.status == 201, "\(created.text)")
        let id = try #require(created.object["id"] as? String)
        return try await HTTP.send("GET", base + "/v1/orders/\(id)").object
    }

    static func rulesAnswer(_ order: [String: Any]) -> [String: Any] {
        (order["rules"] as? [[String: Any]])?.first ?? [:]
    }

    @Test func writeSimulatePublishExplainRollBack() async throws {
        let h = try await HubHarness.start(extra: Self.engine, pipeline: "[engine]")
        defer { Task { await h.stop() } }
        // Orders recorded before any ruleset: 350.00 and 100.00.
        let before = try await Self.order(h.baseURL, "past-1", price: "350.00")
        _ = try await Self.order(h.baseURL, "past-2", price: "100.00")
        #expect((Self.rulesAnswer(before)["discount_minor"] as? Int) == 0)

        // A mistake is refused with file:line:column and the rule.
        let bad = try await Self.post(h.baseURL, "/v1/rulesets?file=checkout.yaml", Self.checkout.replacingOccurrences(of: "\"50.00\"", with: "\"50.001\""), type: "application/yaml")
        #expect(bad.status == 422)
        #expect((bad.object["message"] as? String)?.contains("checkout.yaml:8:") == true, "\(bad.text)")
        #expect((bad.object["message"] as? String)?.contains("rule 'spend-300-get-50'") == true)

        let draft = try await Self.post(h.baseURL, "/v1/rulesets?file=checkout.yaml&note=first", Self.checkout, type: "application/yaml")
        #expect(draft.status == 201, "\(draft.text)")
        #expect(draft.headers["location"] == "/v1/rulesets/checkout/versions/1")

        // Simulate the draft on the recorded orders: one hit, one changed order, 50.00 more discount.
        let report = try await Self.post(h.baseURL, "/v1/rulesets/checkout/simulate", #"{"last": 100}"#)
        #expect(report.status == 200, "\(report.text)")
        #expect(report.object["orders"] as? Int == 2)
        #expect(report.object["changed_count"] as? Int == 1)
        let rules = report.object["rules"] as? [[String: Any]] ?? []
        #expect(rules.first { $0["rule"] as? String == "spend-300-get-50" }?["hits_after"] as? Int == 1)
        let totals = (report.object["totals"] as? [String: Any])?["after"] as? [String: Any]
        #expect(totals?["discount"] as? String == "50.00")

        // Still a draft: nothing live changed.
        let stillNone = try await Self.order(h.baseURL, "draft-only", price: "350.00")
        #expect((Self.rulesAnswer(stillNone)["discount_minor"] as? Int) == 0)

        let published = try await Self.post(h.baseURL, "/v1/rulesets/checkout/publish")
        #expect(published.status == 200, "\(published.text)")
        #expect(published.object["live"] as? Int == 1)

        // The next order is judged by v1, with why and what.
        let judged = try await Self.order(h.baseURL, "after-publish", price: "300.00")
        let answer = Self.rulesAnswer(judged)
        #expect(answer["discount_minor"] as? Int == 5000)
        #expect((answer["rulesets"] as? [[String: Any]])?.first?["version"] as? Int == 1)
        let fired = (answer["fired"] as? [[String: Any]])?.first
        #expect(fired?["rule"] as? String == "spend-300-get-50")
        #expect((fired?["why"] as? [String: Any])?["items_total"] as? Int == 300)
        #expect((fired?["did"] as? [String: Any])?["discount_minor"] as? Int == 5000)

        // v2 raises the threshold; publish, then roll back to v1.
        let v2 = try await Self.post(h.baseURL, "/v1/rulesets", Self.checkout.replacingOccurrences(of: "300]", with: "400]"), type: "application/yaml")
        #expect(v2.object["version"] as? Int == 2)
        _ = try await Self.post(h.baseURL, "/v1/rulesets/checkout/publish")
        #expect((Self.rulesAnswer(try await Self.order(h.baseURL, "v2", price: "300.00"))["discount_minor"] as? Int) == 0)
        let rolled = try await Self.post(h.baseURL, "/v1/rulesets/checkout/rollback")
        #expect(rolled.object["live"] as? Int == 1, "\(rolled.text)")
        #expect((Self.rulesAnswer(try await Self.order(h.baseURL, "back-to-v1", price: "300.00"))["discount_minor"] as? Int) == 5000)

        let versions = try await HTTP.send("GET", h.baseURL + "/v1/rulesets/checkout/versions").object
        let statuses = (versions["versions"] as? [[String: Any]])?.compactMap { $0["status"] as? String }
        #expect(statuses == ["retired", "live"])
        let unknown = try await Self.post(h.baseURL, "/v1/rulesets/nope/publish")
        #expect(unknown.status == 404)
    }

    @Test func firstBuyersLimitIsExactUnderConcurrencyAndSurvivesRestart() async throws {
        let h = try await HubHarness.start(extra: Self.engine, pipeline: "[engine]")
        defer { Task { await h.stop() } }
        let limited = Self.checkout.replacingOccurrences(of: "redemptions: 1000", with: "redemptions: 60, per_customer: 1")
        _ = try await Self.post(h.baseURL, "/v1/rulesets", limited, type: "application/yaml")
        _ = try await Self.post(h.baseURL, "/v1/rulesets/checkout/publish")
        let base = h.baseURL
        // 70 buyers and one customer who tries 10 times race for 60 redemptions, 16 at a time.
        let customers = (0..<70).map { "c-\($0)" } + Array(repeating: "c-dup", count: 10)
        let results = try await withThrowingTaskGroup(of: (String, Bool).self) { group in
            var results: [(String, Bool)] = []
            for (index, customer) in customers.enumerated() {
                if index >= 16, let done = try await group.next() { results.append(done) }
                group.addTask {
                    let order = try await Self.order(base, "race-\(index)", price: "320.00", customer: customer)
                    return (customer, (Self.rulesAnswer(order)["discount_minor"] as? Int ?? 0) > 0)
                }
            }
            for try await done in group { results.append(done) }
            return results
        }
        #expect(results.filter(\.1).count == 60, "exactly 60 buyers, never 61")
        #expect(results.filter { $0.0 == "c-dup" && $0.1 }.count <= 1, "once per customer")
        try await h.restart()
        let usage = try await HTTP.send("GET", h.baseURL + "/v1/promotions/usage").json as? [[String: Any]]
        #expect(usage?.first { $0["rule"] as? String == "spend-300-get-50" }?["redemptions"] as? Int == 60)
        let late = try await Self.order(h.baseURL, "after-restart", price: "320.00", customer: "c-late")
        #expect((Self.rulesAnswer(late)["discount_minor"] as? Int) == 0)
        #expect((Self.rulesAnswer(late)["skipped"] as? [[String: Any]])?.first?["reason"] as? String == "limit of 60 orders reached")
    }

    @Test func velocityWindowsSurviveARestart() async throws {
        let h = try await HubHarness.start(extra: Self.engine, pipeline: "[engine]")
        defer { Task { await h.stop() } }
        let burst = """
            ruleset: risk
            rules:
              - id: same-ip-burst
                velocity: {key: {var: client_ip}, window: 60s, at_least: 4, distinct: {var: ship_to.name}, distinct_at_least: 2}
                then: [{hold: {type: risk, reason: "4 orders from one IP to different recipients within 60 s"}}]
            """
        _ = try await Self.post(h.baseURL, "/v1/rulesets", burst, type: "application/yaml")
        _ = try await Self.post(h.baseURL, "/v1/rulesets/risk/publish")
        for index in 0..<3 {
            let order = try await Self.order(h.baseURL, "ip-\(index)", price: "10.00", ip: "198.51.100.9", name: "R\(index)")
            #expect(order["state"] as? String != "on_hold")
        }
        try await h.restart()
        let fourth = try await Self.order(h.baseURL, "ip-3", price: "10.00", ip: "198.51.100.9", name: "R3")
        #expect(fourth["state"] as? String == "on_hold", "the window kept its 3 orders across the restart")
        let why = (Self.rulesAnswer(fourth)["fired"] as? [[String: Any]])?.first?["why"] as? [String: Any]
        #expect(why?["velocity.count"] as? Int == 4)
    }

    @Test func rulesActOnPredictions() async throws {
        let extra = Self.engine + """

              trees:
                kind: predictor
                library: \(try Products.library("PredictorTrees"))
                config:
                  model_dir: \(Products.repository)/manifests/models/late_delivery_lgbm
                  quadrant: {impact_value: 100, probability: 0.000001}
            """
        let h = try await HubHarness.start(extra: extra, pipeline: "[trees, engine]")
        defer { Task { await h.stop() } }
        let text = try String(contentsOfFile: Products.repository + "/manifests/rules/risk.rules.yaml", encoding: .utf8)
        #expect(try await Self.post(h.baseURL, "/v1/rulesets", text, type: "application/yaml").status == 201)
        _ = try await Self.post(h.baseURL, "/v1/rulesets/risk-actions/publish")
        // 150.00 is above the impact threshold and every probability is above 1e-6: critical.
        let critical = try await Self.order(h.baseURL, "late-critical", price: "150.00")
        #expect(critical["state"] as? String == "on_hold")
        let fired = (Self.rulesAnswer(critical)["fired"] as? [[String: Any]])?.first
        #expect(fired?["rule"] as? String == "late-critical-hold")
        #expect((fired?["why"] as? [String: Any])?["risk.late_delivery.quadrant"] as? String == "critical")
        // 50.00 is below the impact threshold: act → express shipping and a reroute, carried to the WMS.
        let act = try await Self.order(h.baseURL, "late-act", price: "50.00")
        #expect(act["state"] as? String != "on_hold")
        #expect((Self.rulesAnswer(act)["shipping"] as? [String: Any])?["service_level"] as? String == "express")
        let delivered = await HTTP.eventually { h.wms.accepted.contains { String(decoding: $0.body, as: UTF8.self).contains("WH-SP-EXPRESS") } }
        #expect(delivered, "the dispatch instruction carries the route the rule chose")
    }
}
