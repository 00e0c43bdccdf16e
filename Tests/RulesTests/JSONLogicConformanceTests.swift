import HubJSON
import HubRules
import Testing

/// The official JSON Logic test suite (Tests/Fixtures/jsonlogic/tests.json), every case.
@Suite struct JSONLogicConformanceTests {
    @Test func officialSuitePasses() throws {
        let suite = try JSONParser.parse(try RuleFixtures.bytes("jsonlogic/tests.json"))
        var failures: [String] = []
        var cases = 0
        for entry in suite.arrayValue ?? [] {
            guard let triple = entry.arrayValue, triple.count == 3 else { continue }
            cases += 1
            let (rule, data, expected) = (triple[0], triple[1], triple[2])
            do {
                let result = try JSONLogic.evaluate(SourceNode(json: rule), data: data).json
                if !same(result, expected) {
                    failures.append("\(JSONWriter.render(rule)) with \(JSONWriter.render(data)): got \(JSONWriter.render(result)), expected \(JSONWriter.render(expected))")
                }
            } catch {
                failures.append("\(JSONWriter.render(rule)): \(error)")
            }
        }
        #expect(cases > 250)
        #expect(failures.isEmpty, "\(failures.count) of \(cases) failed:\n\(failures.joined(separator: "\n"))")
    }

    @Test func moneyIsExactDecimal() throws {
        // 100.10 + 199.90 is 300 exactly: "spend >= 300" qualifies (a double sum is 299.99999999999994).
        let rule = SourceNode(json: json(#"{">=": [{"+": [{"var": "a"}, {"var": "b"}]}, 300]}"#))
        #expect(try JSONLogic.evaluate(rule, data: json(#"{"a": "100.10", "b": "199.90"}"#)).truthy)
        let sum = SourceNode(json: json(#"{"+": [0.1, 0.2]}"#))
        #expect(try JSONLogic.evaluate(sum, data: .null).json == .number("0.3"))
    }

    @Test func unknownOperatorIsAnErrorWithPosition() throws {
        let source = try SourceNode.parse("when:\n  frobnicate: [1]\n", file: "r.yaml")
        #expect(throws: RuleError.self) { try JSONLogic.evaluate(source["when"]!, data: .null) }
        do {
            _ = try JSONLogic.evaluate(source["when"]!, data: .null)
        } catch {
            #expect(error.line == 2)
            #expect(error.message.contains("unknown operator 'frobnicate'"))
        }
    }
}
