import Foundation
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
                // The typed fast paths (what conditions and comparisons run) must agree too.
                let fast = try JSONLogic.fastPaths(SourceNode(json: rule), data: data)
                let want = RuleValue(expected)
                if fast.truth != want.truthy {
                    failures.append("\(JSONWriter.render(rule)) with \(JSONWriter.render(data)): fast truth \(fast.truth), expected \(want.truthy)")
                }
                let wantNumber = want.toNumber
                if !(fast.number.isNaN && wantNumber.isNaN) && Num.compare(fast.number, wantNumber) != 0 {
                    failures.append("\(JSONWriter.render(rule)) with \(JSONWriter.render(data)): fast number \(fast.number), expected \(wantNumber)")
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

/// Local time follows the zone's daylight-saving history (São Paulo had DST until 2019).
@Suite struct LocalTimeTests {
    @Test func daylightSavingIsApplied() throws {
        let environment = RuleEnvironment(timeZone: try #require(TimeZone(identifier: "America/Sao_Paulo")))
        func local(_ moment: String) throws -> JSONValue {
            try JSONLogic.evaluate(SourceNode(json: json(#"{"local_time": ["\#(moment)"]}"#)), data: .null, environment: environment).json
        }
        #expect(try local("2026-12-24T23:30:00Z") == .string("20:30"))  // UTC-3, no DST since 2019
        #expect(try local("2016-01-10T23:30:00Z") == .string("21:30"))  // UTC-2 in the 2015/16 summer
        #expect(try local("2016-07-10T23:30:00Z") == .string("20:30"))
        func value(_ op: String, _ moment: String) throws -> JSONValue {
            try JSONLogic.evaluate(SourceNode(json: json(#"{"\#(op)": ["\#(moment)"]}"#)), data: .null, environment: environment).json
        }
        // 01:30 UTC on the 25th is still the 24th, a Thursday, in São Paulo.
        #expect(try value("local_date", "2026-12-25T01:30:00Z") == .string("2026-12-24"))
        #expect(try value("weekday", "2026-12-25T01:30:00Z") == .number("4"))
        #expect(try value("local_date", "1969-12-31T23:30:00Z") == .string("1969-12-31"))
    }
}
