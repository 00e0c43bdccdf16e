import Foundation
import HubJSON
import HubRules
import Testing

/// The four rules of the issue (manifests/rules/checkout.rules.yaml), judged on orders.
@Suite struct ExampleRulesetTests {
    static let folder = RuleFixtures.root.deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("manifests/rules")

    static func load() throws -> Ruleset {
        let text = try String(contentsOf: folder.appendingPathComponent("checkout.rules.yaml"), encoding: .utf8)
        return try RulesetParser.compile(text: text, file: "checkout.rules.yaml") { path in
            try? String(contentsOf: folder.appendingPathComponent(path), encoding: .utf8)
        }
    }

    static func order(
        items: String = #"[{"sku": "SKU-TOY-1", "quantity": 1, "unit_price": "100.10"}, {"sku": "SKU-BOOK-7", "quantity": 1, "unit_price": "199.90"}]"#,
        created: String = "2026-11-25T15:00:00Z", ip: String = "203.0.113.7", recipient: String = "Ana", country: String = "BR",
        customer: String = "c-1"
    ) -> RuleDocument {
        RuleDocument(json("""
            {"id": "o-1", "customer": {"id": "\(customer)"}, "items": \(items), "created_at": "\(created)",
             "client_ip": "\(ip)", "ship_to": {"country": "\(country)", "name": "\(recipient)", "postal_code": "01001-000"}}
            """))
    }

    @Test func spendExactly300QualifiesAndPresaleIsExcluded() throws {
        let rules = try Self.load()
        let state = RuleState()
        let exact = rules.evaluate(Self.order(), state: state, nowNanos: 0)
        #expect(exact.discountMinor == 5000)
        let fired = try #require(exact.fired.first { $0.rule == "spend-300-get-50" })
        #expect(fired.why.contains { $0.0 == "items_total" && $0.1.json == .number("300") })

        // 250 in stock + 100 presale: the presale line does not count toward 300.
        let presale = Self.order(items: #"[{"sku": "SKU-TOY-1", "quantity": 1, "unit_price": "250.00"}, {"sku": "SKU-PRE-3", "quantity": 1, "unit_price": "100.00"}]"#)
        #expect(rules.evaluate(presale, state: state, nowNanos: 0).discountMinor == 0)
    }

    @Test func giftOnlyInTheLocalWindow() throws {
        let rules = try Self.load()
        // 23:30 UTC on the 24th is 20:30 in São Paulo (UTC-3): inside 20:00-24:00.
        let inside = rules.evaluate(Self.order(created: "2026-12-24T23:30:00Z"), state: RuleState(), nowNanos: 0)
        #expect(inside.gifts.map(\.sku) == ["SAMPLE-WIPES"])
        // 22:00 UTC is 19:00 local: outside. 03:30 UTC on the 25th is 00:30 local: outside.
        #expect(rules.evaluate(Self.order(created: "2026-12-24T22:00:00Z"), state: RuleState(), nowNanos: 0).gifts.isEmpty)
        #expect(rules.evaluate(Self.order(created: "2026-12-25T03:30:00Z"), state: RuleState(), nowNanos: 0).gifts.isEmpty)
    }

    @Test func sevenOrdersFromOneIPToDifferentRecipientsHold() throws {
        let rules = try Self.load()
        let state = RuleState()
        let second: Int64 = 1_000_000_000
        var outcomes: [RuleOutcome] = []
        for index in 0..<7 {
            outcomes.append(rules.evaluate(Self.order(recipient: "R\(index % 3)"), state: state, nowNanos: Int64(index) * second))
        }
        #expect(outcomes.prefix(6).allSatisfy { $0.hold == nil })
        #expect(outcomes[6].hold?.type == "risk")
        #expect(outcomes[6].fired.first { $0.rule == "same-ip-burst" }?.why.contains { $0.0 == "velocity.count" && $0.1.json == .number("7") } == true)

        // The same recipient seven times is one customer reordering: no hold.
        let calm = RuleState()
        let same = (0..<7).map { rules.evaluate(Self.order(ip: "198.51.100.1"), state: calm, nowNanos: Int64($0) * second) }
        #expect(same.allSatisfy { $0.hold == nil })

        // Seven orders spread over 13 seconds never have seven inside one 12 s window.
        let slow = RuleState()
        let spread = (0..<7).map { rules.evaluate(Self.order(recipient: "R\($0)"), state: slow, nowNanos: Int64($0) * 2 * second + 1) }
        #expect(spread.allSatisfy { $0.hold == nil })
    }

    @Test func crossBorderOrdersCarryACarbonEstimate() throws {
        let rules = try Self.load()
        let items = #"[{"sku": "SKU-TOY-1", "quantity": 2, "unit_price": "10.00"}, {"sku": "NO-FACTOR", "quantity": 1, "unit_price": "5.00"}]"#
        let outcome = rules.evaluate(Self.order(items: items, country: "PT"), state: RuleState(), nowNanos: 0)
        // 2 × 1.20 + 1 × 0.5 (the default factor) = 2.9 exactly.
        #expect(outcome.fields.first { $0.0 == "carbon_kg" }?.1.json == .number("2.9"))
        #expect(outcome.tags == ["cross-border"])
        #expect(rules.evaluate(Self.order(items: items), state: RuleState(), nowNanos: 0).fields.isEmpty)
    }

    @Test func firstBuyersLimitHoldsUnderConcurrency() async throws {
        let text = """
            ruleset: race
            rules:
              - id: first-50
                when: {">=": [{items_total: []}, 300]}
                then: [{discount: {amount: "50.00"}}]
                limits: {redemptions: 50, budget: "2400.00"}
            """
        let rules = try RulesetParser.compile(text: text, file: "race.yaml")
        let state = RuleState()
        // 16 tasks × 40 orders race for 50 redemptions and a budget of 48 × 50.00.
        let granted = await withTaskGroup(of: Int.self) { group in
            for task in 0..<16 {
                group.addTask {
                    (0..<40).reduce(0) { count, index in
                        let outcome = rules.evaluate(Self.order(customer: "c-\(task)-\(index)"), state: state, nowNanos: 0)
                        return count + (outcome.discountMinor > 0 ? 1 : 0)
                    }
                }
            }
            return await group.reduce(0, +)
        }
        #expect(granted == 48)
        let usage = state.ledger.usage(ruleset: "race", rule: "first-50")
        #expect(usage.redemptions == 48)
        #expect(usage.givenMinor == 240_000)
    }

    @Test func velocityCountsAreExactUnderConcurrency() async throws {
        let windows = VelocityWindows()
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for index in 0..<500 { _ = windows.record("k", now: Int64(index), window: 1_000_000, distinct: "r\(task)") }
                }
            }
        }
        let last = windows.record("k", now: 600, window: 1_000_000, distinct: "r0")
        #expect(last.count == 4001)
        #expect(last.distinct == 8)
    }
}
