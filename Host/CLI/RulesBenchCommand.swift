import ArgumentParser
import Foundation
import HubJSON
import HubRules

extension RulesCommand {
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Benchmark a ruleset on one core: publish cost, orders/s, ns per rule evaluation.",
            discussion: "Peers (zen-engine, jsonlogic-rs, json-logic) run with benchmarks/rules/peers.py on the same files.")

        @Option(name: .long, help: "The ruleset file.")
        var ruleset: String

        @Option(name: .long, help: "Orders as JSON Lines (benchmarks/rules/generate_orders.py writes them).")
        var orders: String

        @Option(name: .long, help: "How many orders to evaluate (the file is cycled).")
        var count: Int = 100_000

        @Flag(name: .long, help: "Also print the time each rule's condition takes (the ten costliest).")
        var perRule = false

        @Flag(name: .long, help: "Measure conditions only (for profiling).")
        var conditionsOnly = false

        func run() throws {
            let text = try String(contentsOfFile: ruleset, encoding: .utf8)
            let base = URL(fileURLWithPath: ruleset).deletingLastPathComponent()
            // Publish cost: parse, check and compile, best of 20 (the first warms caches).
            var compileTimes: [Double] = []
            var compiled: Ruleset?
            for _ in 0..<20 {
                let started = DispatchTime.now().uptimeNanoseconds
                compiled = try RulesetFiles.compile(text, file: ruleset, base: base)
                compileTimes.append(Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6)
            }
            let rules = compiled!
            var parseTimes: [Double] = []
            for _ in 0..<20 {
                let started = DispatchTime.now().uptimeNanoseconds
                _ = try? SourceNode.parse(text, file: ruleset)
                parseTimes.append(Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6)
            }
            let lines = try String(contentsOfFile: orders, encoding: .utf8).split(separator: "\n")
            // Parsing JSON is part of the per-order cost the plugin pays: measured separately.
            let raw = lines.map { Array($0.utf8) }
            let parseStart = DispatchTime.now().uptimeNanoseconds
            let parsed = try raw.map { try JSONParser.parse($0) }
            let parseNs = Double(DispatchTime.now().uptimeNanoseconds - parseStart) / Double(max(1, raw.count))
            let documents = parsed.map { RuleDocument($0) }
            // The order's own time is the clock, so velocity windows see the file's pace.
            let times = parsed.enumerated().map { index, order in
                order["created_at"]?.stringValue.flatMap(Timestamp.parseRFC3339) ?? Int64(index) * 1_000_000
            }
            // Conditions only (what condition engines such as JSON Logic libraries do).
            var matched = 0
            let conditionsStart = DispatchTime.now().uptimeNanoseconds
            for index in 0..<count {
                matched += rules.matchingConditions(documents[index % documents.count], nowNanos: times[index % times.count])
            }
            let conditionSeconds = Double(DispatchTime.now().uptimeNanoseconds - conditionsStart) / 1e9
            let state = RuleState()
            var fired = 0
            let started = DispatchTime.now().uptimeNanoseconds
            for index in 0..<(conditionsOnly ? 0 : count) {
                let outcome = rules.evaluate(documents[index % documents.count], state: state, nowNanos: times[index % times.count])
                fired += outcome.fired.count
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            let perSecond = Double(count) / seconds
            let nsPerRule = seconds * 1e9 / Double(count * rules.rules.count)
            compileTimes.sort()
            Output.out("ruleset=\(rules.id) rules=\(rules.rules.count) publish_ms_best=\(String(format: "%.3f", compileTimes[0])) publish_ms_median=\(String(format: "%.3f", compileTimes[compileTimes.count / 2])) of_which_yaml_parse_ms_best=\(String(format: "%.3f", parseTimes.min() ?? 0))")
            Output.out("engine=orderhub-conditions orders=\(count) seconds=\(String(format: "%.3f", conditionSeconds)) orders_per_s=\(Int(Double(count) / conditionSeconds)) ns_per_rule=\(String(format: "%.1f", conditionSeconds * 1e9 / Double(count * rules.rules.count))) conditions_matched=\(matched)")
            Output.out("engine=orderhub orders=\(count) seconds=\(String(format: "%.3f", seconds)) orders_per_s=\(Int(perSecond)) ns_per_rule=\(String(format: "%.1f", nsPerRule)) rules_fired=\(fired)")
            if perRule {
                let cost = rules.conditionCost(Array(documents.prefix(20_000)), nowNanos: Array(times.prefix(20_000)))
                let orders = Double(min(20_000, documents.count))
                for (rule, nanos) in cost.sorted(by: { $0.nanos > $1.nanos }).prefix(10) {
                    Output.out("rule=\(rule) ns_per_order=\(Int(Double(nanos) / orders))")
                }
            }
            Output.out("engine=orderhub+json_parse ns_per_order_parse=\(Int(parseNs)) orders_per_s_with_parse=\(Int(1e9 / (1e9 / perSecond + parseNs)))")
        }
    }
}
