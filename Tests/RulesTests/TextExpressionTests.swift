import HubJSON
import HubRules
import Testing

/// The text form of conditions compiles to the same JSON Logic tree a visual builder exports.
@Suite struct TextExpressionTests {
    @Test func compilesToTheSameTree() throws {
        let cases: [(String, String)] = [
            ("items_total(not in_table(sku, presale_skus)) >= 300",
             #"{">=": [{"items_total": [{"!": [{"in_table": [{"var": "sku"}, {"var": "presale_skus"}]}]}]}, 300]}"#),
            ("customer.tier in ['gold', \"platinum\"] and not ship_to.country == 'BR'",
             #"{"and": [{"in": [{"var": "customer.tier"}, ["gold", "platinum"]]}, {"!": [{"==": [{"var": "ship_to.country"}, "BR"]}]}]}"#),
            ("a + b * 2 - -1.5 > 10 or c",
             #"{"or": [{">": [{"-": [{"+": [{"var": "a"}, {"*": [{"var": "b"}, 2]}]}, -1.5]}, 10]}, {"var": "c"}]}"#),
            ("some(items, category == 'toys' and quantity >= 2)",
             #"{"some": [{"var": "items"}, {"and": [{"==": [{"var": "category"}, "toys"]}, {">=": [{"var": "quantity"}, 2]}]}]}"#),
            ("risk('late_delivery', 'quadrant') != null", #"{"!=": [{"risk": ["late_delivery", "quadrant"]}, null]}"#),
        ]
        for (text, expected) in cases {
            let tree = try JSONLogic.fromText(text).json
            #expect(same(tree, json(expected)), "\(text) → \(JSONWriter.render(tree))")
        }
    }

    @Test func aRulesetMayWriteConditionsAsText() throws {
        let rules = try RulesetParser.compile(text: """
            ruleset: text
            tables:
              presale_skus: {csv: "sku\\nSKU-PRE\\n"}
            rules:
              - id: spend-300
                when: "items_total(not in_table(sku, presale_skus)) >= 300 and customer.tier in ['gold', 'platinum']"
                then: [{discount: {amount: "50.00", lines: "category != 'gift-card'"}}]
            """, file: "t.yaml")
        let order = RuleDocument(json("""
            {"customer": {"tier": "gold"}, "items": [{"sku": "A", "quantity": 1, "unit_price": "300.00", "category": "toys"},
             {"sku": "SKU-PRE", "quantity": 1, "unit_price": "90.00"}]}
            """))
        #expect(rules.evaluate(order, state: RuleState(), nowNanos: 0).discountMinor == 5000)
    }

    @Test func textErrorsPointIntoTheText() {
        do {
            _ = try RulesetParser.compile(text: "ruleset: t\nrules:\n  - id: a\n    when: items_total() >= 300 and = 2\n    then: [{tag: x}]\n", file: "t.yaml")
            Issue.record("accepted a broken condition")
        } catch {
            #expect(error.line == 4)
            #expect(error.column == 36, "\(error)")
            #expect(error.rule == "a")
            #expect(error.message.contains("in the condition text"), "\(error)")
        }
    }
}
