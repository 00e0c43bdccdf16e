import Foundation
import Testing

/// `orderhub rules ...` as an author uses it: the real binary, real files.
@Suite struct RulesCLITests {
    @Test func evalPrintsResultsAndErrorsPerLine() throws {
        let single = try ChildProcess.run(["rules", "eval", #"{">=": [{"+": [{"var": "a"}, {"var": "b"}]}, 300]}"#,
                                           "--data", #"{"a": "100.10", "b": "199.90"}"#])
        #expect(single.status == 0)
        #expect(single.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "true")
        let lines = [#"{"rule": {"cat": ["a", 1.5]}, "data": null}"#, #"{"rule": {"nope": 1}}"#, "garbage",
                     #"{"rule": {"var": "x.y"}, "data": {"x": {"y": [1, 2]}}}"#].joined(separator: "\n")
        let many = try ChildProcess.run(["rules", "eval", "--jsonl"], input: lines + "\n")
        #expect(many.status == 0)
        let out = many.stdout.split(separator: "\n").map(String.init)
        #expect(out.count == 4)
        #expect(out[0] == #"{"result":"a1.5"}"#)
        #expect(out[1].hasPrefix(#"{"error":"unknown operator 'nope'"#))
        #expect(out[2].hasPrefix(#"{"error":"the line is not JSON"#))
        #expect(out[3] == #"{"result":[1,2]}"#)
    }

    @Test func lintNamesFileLineColumnAndRuleAndExitsTwo() throws {
        let directory = Products.tempDirectory("lint")
        let bad = directory + "/bad.yaml"
        try "ruleset: x\nrules:\n  - id: a\n    when: {\">\": [{var: total}, 10]}\n    then: [{discount: {amount: \"1.234\"}}]\n"
            .write(toFile: bad, atomically: true, encoding: .utf8)
        let result = try ChildProcess.run(["rules", "lint", bad])
        #expect(result.status == 2)
        #expect(result.stderr.contains("\(bad):5:32: rule 'a': discount.amount '1.234' is not an amount with at most two decimals"), "\(result.stderr)")

        let good = try ChildProcess.run(["rules", "lint", Products.repository + "/manifests/rules/checkout.rules.yaml", "--json"])
        #expect(good.status == 0, "\(good.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(good.stdout.utf8)) as? [String: Any]
        #expect((report?["lineage"] as? [Any])?.count == 4)
    }

    @Test func simulateReportsWhatChanges() throws {
        let directory = Products.tempDirectory("simulate")
        let orders = directory + "/orders.jsonl"
        let lines = ["350.00", "100.00", "300.00"].enumerated().map { index, price in
            #"{"id": "o-\#(index)", "customer": {"id": "c"}, "items": [{"sku": "SKU-1", "quantity": 1, "unit_price": "\#(price)"}], "ship_to": {"country": "BR"}}"#
        }
        try lines.joined(separator: "\n").write(toFile: orders, atomically: true, encoding: .utf8)
        let result = try ChildProcess.run(["rules", "simulate", Products.repository + "/manifests/rules/checkout.rules.yaml",
                                           "--orders", orders, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(report?["orders"] as? Int == 3)
        #expect(report?["changed_count"] as? Int == 2, "350.00 and 300.00 get 50.00 off")
        let totals = (report?["totals"] as? [String: Any])?["after"] as? [String: Any]
        #expect(totals?["discount"] as? String == "100.00")
    }
}
