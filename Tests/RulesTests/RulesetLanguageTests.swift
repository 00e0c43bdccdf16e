import HubJSON
import HubRules
import Testing

@Suite struct RulesetLanguageTests {
    static let order = RuleDocument(json("""
        {"customer": {"id": "c-1", "tier": "gold"}, "ship_to": {"country": "BR", "region": "SP"},
         "items": [{"sku": "A", "quantity": 2, "unit_price": "10.00", "presale": true}, {"sku": "B", "quantity": 1, "unit_price": "5.00"}]}
        """))

    static func compile(_ text: String) throws(RuleError) -> Ruleset { try RulesetParser.compile(text: text, file: "t.yaml") }

    @Test func decisionTableHitPolicies() throws {
        func table(_ hit: String) -> String {
            """
            ruleset: routing
            rules:
              - id: route
                decide:
                  hit: \(hit)
                  inputs: {region: {var: ship_to.region}, total: {items_total: []}}
                  rows:
                    - when: {region: [SP, RJ]}
                      then: {route: {warehouse: WH-SE}}
                    - when: {region: SP, total: ">= 20"}
                      then: {route: {warehouse: WH-SP}}
                      priority: 5
                    - when: {total: "[100..500]"}
                      then: {route: {warehouse: WH-BIG}}
            """
        }
        let first = try Self.compile(table("first")).evaluate(Self.order, state: RuleState(), nowNanos: 0)
        #expect(first.route?.warehouses == ["WH-SE"])
        let priority = try Self.compile(table("priority")).evaluate(Self.order, state: RuleState(), nowNanos: 0)
        #expect(priority.route?.warehouses == ["WH-SP"])
        let collect = try Self.compile(table("collect")).evaluate(Self.order, state: RuleState(), nowNanos: 0)
        // Two routes collected: the more specific row (two inputs tested) wins.
        #expect(collect.route?.warehouses == ["WH-SP"])
        let unique = try Self.compile(table("unique")).evaluate(Self.order, state: RuleState(), nowNanos: 0)
        #expect(unique.hold?.type == "rules_error")
        #expect(unique.errors.first?.contains("rows 1 and 2") == true)
    }

    @Test func stackingStopAndExclusiveGroups() throws {
        let rules = try Self.compile("""
            ruleset: promos
            rules:
              - id: ten-percent
                priority: 10
                then: [{discount: {percent: 10}}]
                stacking: exclusive
                group: weekly
              - id: five-off
                priority: 5
                then: [{discount: {amount: "5.00"}}]
                stacking: exclusive
                group: weekly
              - id: gold-two-off
                priority: 3
                when: {"==": [{var: customer.tier}, gold]}
                then: [{discount: {amount: "2.00"}}]
                stacking: stop
              - id: never-after-stop
                priority: 1
                then: [{discount: {amount: "1.00"}}]
            """)
        let outcome = rules.evaluate(Self.order, state: RuleState(), nowNanos: 0)
        // 10% of 25.00 = 2.50, then 2.00: 4.50. five-off lost its group; the last was stopped.
        #expect(outcome.discountMinor == 450)
        #expect(outcome.skipped.map(\.rule) == ["five-off", "never-after-stop"])
    }

    @Test func splitByPresaleAndRoute() throws {
        let rules = try Self.compile("""
            ruleset: split
            rules:
              - id: split-presale
                when: {some: [{var: items}, {var: presale}]}
                then: [{split: {by: presale}}, {route: {warehouses: [WH-1, WH-2]}}]
            """)
        let outcome = rules.evaluate(Self.order, state: RuleState(), nowNanos: 0)
        #expect(outcome.fulfillments.map(\.group) == ["presale", "in_stock"])
        #expect(outcome.fulfillments.allSatisfy { $0.warehouse == "WH-1" })
    }

    @Test func errorsNameFileRuleLineAndColumn() {
        let cases: [(String, Int, String)] = [
            ("ruleset: x\nrules:\n  - id: a\n    when: {\">\": [{var: total}]}\n    then: [{tag: t}]\n", 4, "'>' takes 2 arguments"),
            ("ruleset: x\nrules:\n  - id: a\n    then: [{discount: {amount: \"12.345\"}}]\n", 4, "at most two decimals"),
            ("ruleset: x\nrules:\n  - id: a\n    then: [{teleport: {}}]\n", 4, "unknown action 'teleport'"),
            ("ruleset: x\nrules:\n  - id: a\n    when: {in_table: [{var: sku}, nope]}\n    then: [{tag: t}]\n", 4, "no table 'nope'"),
            ("ruleset: x\nrules:\n  - id: a\n    then: [{tag: t}]\n    limits: {redemptions: 5}\n", 5, "apply to promotions"),
            ("ruleset: x\nrules: [\n", 3, "syntax"),
        ]
        for (text, line, message) in cases {
            do throws(RuleError) {
                _ = try Self.compile(text)
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.line == line, "\(error)")
                #expect(error.message.contains(message), "\(error)")
                #expect(error.description.hasPrefix("t.yaml:\(line):"), "\(error)")
                if line != 3 { #expect(error.rule == "a", "\(error)") }
            }
        }
    }

    @Test func percentDiscountOnMatchingLinesWithCap() throws {
        let rules = try Self.compile("""
            ruleset: lines
            rules:
              - id: half-off-b
                then: [{discount: {percent: 50, lines: {"==": [{var: sku}, B]}, cap: "2.00"}}]
              - id: third-off-a
                then: [{discount: {percent: "33.333", lines: {"==": [{var: sku}, A]}}}]
            """)
        let outcome = rules.evaluate(Self.order, state: RuleState(), nowNanos: 0)
        // B: 50% of 5.00 = 2.50 capped at 2.00. A: 33.333% of 20.00 = 6.6666 → 6.67.
        #expect(outcome.discountMinor == 200 + 667)
    }

    @Test func missingFieldsAreSafe() throws {
        let rules = try Self.compile("""
            ruleset: safe
            rules:
              - id: vip
                when: {">": [{var: customer.lifetime_value}, 1000]}
                then: [{tag: vip}]
              - id: velocity-no-ip
                velocity: {key: {var: client_ip}, window: 10s, at_least: 1}
                then: [{hold: {type: risk, reason: r}}]
            """)
        let outcome = rules.evaluate(Self.order, state: RuleState(), nowNanos: 0)
        #expect(outcome.fired.isEmpty)
    }
}

extension RulesetLanguageTests {
    @Test func bareWordsStayText() throws {
        let rules = try Self.compile("""
            ruleset: countries
            rules:
              - id: norway
                when: {"==": [{var: ship_to.country}, NO]}
                then: [{tag: norway}]
              - id: typed
                when: {"and": [true, {"==": [1.50, "1.5"]}, {"==": [~, null]}]}
                then: [{tag: typed}]
            """)
        let order = RuleDocument(json(#"{"ship_to": {"country": "NO"}, "items": []}"#))
        #expect(rules.evaluate(order, state: RuleState(), nowNanos: 0).tags == ["norway", "typed"])
    }
}

extension RulesetLanguageTests {
    @Test func lintFindsContradictionsInAnyOrder() throws {
        for condition in ["x >= 5 and x > 5 and x <= 5", "x <= 5 and x >= 5 and x > 5", "x > 5 and x <= 5"] {
            let rules = try Self.compile("ruleset: l\nrules:\n  - id: never\n    when: \"\(condition)\"\n    then: [{tag: t}]\n")
            let report = LintReport(rules, file: "l.yaml")
            #expect(report.findings.contains { $0.rule == "never" && $0.message.contains("can never fire") }, "\(condition)")
        }
    }

    @Test func discountsNeverExceedWhatMayBeDiscounted() throws {
        let rules = try Self.compile("""
            ruleset: caps
            rules:
              - {id: a, then: [{discount: {amount: "50.00"}}]}
              - {id: b, then: [{discount: {amount: "50.00"}}]}
              - {id: c, then: [{discount: {amount: "50.00"}}]}
            """)
        let order = RuleDocument(json(#"{"items": [{"sku": "A", "quantity": 1, "unit_price": "60.00"}, {"sku": "G", "quantity": 1, "unit_price": "100.00", "no_discount": true}]}"#))
        #expect(rules.evaluate(order, state: RuleState(), nowNanos: 0).discountMinor == 6000)
    }
}

extension RulesetLanguageTests {
    /// Rule text a person can send over HTTP never crashes the hub: each is a refusal or a value.
    @Test func hostileNumbersAndDatesAreRefusedNotFatal() throws {
        let refused = [
            "ruleset: x\nrules:\n  - id: a\n    velocity: {key: {var: ip}, window: 200000000000d, at_least: 2}\n    then: [{tag: t}]\n",
            "ruleset: x\nrules:\n  - id: a\n    when: {in_window: [\"\", \"2026-12-25T00:00\"]}\n    then: [{tag: t}]\n",
            "ruleset: x\nrules:\n  - id: a\n    when: {in_window: [\"1000000000000-01-01\", \"1000000000001-01-01\"]}\n    then: [{tag: t}]\n",
        ]
        for text in refused {
            #expect(throws: RuleError.self) { _ = try Self.compile(text) }
        }
        // Int64.min / -1 and % -1 fall back to a double instead of trapping.
        let value = try JSONLogic.evaluate(SourceNode(json: json(#"{"/": [{"*": [-4611686018427387904, 2]}, -1]}"#)), data: .null)
        #expect(value.numberValue?.double == 9.223372036854776e18)
        _ = try JSONLogic.evaluate(SourceNode(json: json(#"{"%": [{"*": [-4611686018427387904, 2]}, -1]}"#)), data: .null)
    }

    /// The typed fast path and the reference agree on a one-element array (JavaScript reads
    /// Number([true]) as NaN, Number([5]) as 5).
    @Test func oneElementArraysCompareAsJavaScriptDoes() throws {
        for (data, expected) in [(#"{"flags": [true]}"#, false), (#"{"flags": [1]}"#, true), (#"{"flags": [null]}"#, true)] {
            let rule = SourceNode(json: json(#"{"<": [{"var": "flags"}, 2]}"#))
            #expect(try JSONLogic.evaluate(rule, data: json(data)).truthy == expected, "\(data)")
            #expect(try JSONLogic.fastPaths(rule, data: json(data)).truth == expected, "\(data)")
        }
    }
}
