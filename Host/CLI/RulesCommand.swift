import ArgumentParser
import Foundation
import HubJSON
import HubRules

/// `orderhub rules`: what rule authors use without a running hub.
struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules", abstract: "Write and check rules: evaluate expressions, lint, simulate, benchmark.",
        subcommands: [Eval.self, Lint.self, Simulate.self, Bench.self])

    /// Evaluates JSON Logic against a document: one case, or many as JSON Lines.
    struct Eval: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Evaluate a JSON Logic rule against JSON data and print the result as JSON.",
            discussion: """
                orderhub rules eval '{">=": [{"var": "total"}, 300]}' --data '{"total": "300.00"}'
                With --jsonl, reads lines of {"rule": ..., "data": ...} from stdin and writes one line per input:
                {"result": ...} or {"error": "..."}.
                """)

        @Argument(help: "The rule (JSON Logic). Not used with --jsonl.")
        var rule: String?

        @Option(name: .long, help: "The data the rule reads (JSON); default null.")
        var data: String = "null"

        @Flag(name: .long, help: "Read {\"rule\", \"data\"} lines from stdin, write one result line each.")
        var jsonl = false

        @Option(name: .long, help: "Time zone for local_time, in_window and friends.")
        var timezone: String = "UTC"

        @Flag(name: .long, help: "The rule is the text form (items_total() >= 300 and customer.tier == 'gold'); prints its JSON Logic too.")
        var text = false

        func run() throws {
            guard let zone = TimeZone(identifier: timezone) else { throw ValidationError("--timezone '\(timezone)' is not an IANA zone") }
            let environment = RuleEnvironment(timeZone: zone)
            let now = Int64(Date().timeIntervalSince1970 * 1e9)
            if jsonl {
                while let line = readLine(strippingNewline: true) {
                    if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
                    Output.out(Self.evaluateLine(line, environment: environment, now: now))
                }
                return
            }
            guard let rule else { throw ValidationError("give a rule, or --jsonl to read cases from stdin") }
            let ruleJSON: JSONValue, dataJSON: JSONValue
            if text {
                do {
                    ruleJSON = try JSONLogic.fromText(rule).json
                } catch {
                    Output.err("error: \(error.description)")
                    throw ExitCode(ExitCodes.manifestInvalid)
                }
                Output.err("json logic: \(JSONWriter.render(ruleJSON))")
            } else {
                do { ruleJSON = try JSONParser.parse(Array(rule.utf8)) } catch { throw ValidationError("the rule is not JSON: \(error)") }
            }
            do { dataJSON = try JSONParser.parse(Array(data.utf8)) } catch { throw ValidationError("--data is not JSON: \(error)") }
            do {
                let result = try JSONLogic.evaluate(SourceNode(json: ruleJSON), data: dataJSON, environment: environment, nowNanos: now)
                Output.out(JSONWriter.render(result.json))
            } catch {
                Output.err("error: \(error.message)")
                throw ExitCode(ExitCodes.manifestInvalid)
            }
        }

        static func evaluateLine(_ line: String, environment: RuleEnvironment, now: Int64) -> String {
            let input: JSONValue
            do { input = try JSONParser.parse(Array(line.utf8)) } catch {
                return JSONWriter.render(.object([("error", .string("the line is not JSON: \(error)"))]))
            }
            guard let rule = input["rule"] else {
                return JSONWriter.render(.object([("error", .string("each line is {\"rule\": ..., \"data\": ...}"))]))
            }
            do {
                let result = try JSONLogic.evaluate(SourceNode(json: rule), data: input["data"] ?? .null, environment: environment, nowNanos: now)
                return JSONWriter.render(.object([("result", result.json)]))
            } catch {
                return JSONWriter.render(.object([("error", .string(error.message))]))
            }
        }
    }

    struct Lint: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a ruleset file: errors with file:line:column, rules that can never fire, overlaps, lineage.")

        @Argument(help: "The ruleset file (YAML or JSON).")
        var file: String

        @Flag(name: .long, help: "Print the report as JSON.")
        var json = false

        func run() throws {
            let ruleset = try RulesetFiles.load(file)
            let report = LintReport(ruleset, file: file)
            Output.out(json ? JSONWriter.render(report.json) : report.text(file: file))
            if report.hasErrors { throw ExitCode(ExitCodes.manifestInvalid) }
        }
    }

    struct Simulate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replay a file of orders through a ruleset (and the live one with --against) and report what changes.")

        @Argument(help: "The draft ruleset file.")
        var ruleset: String

        @Option(name: .long, help: "Orders: JSON Lines, one order (or {\"order\": ..., \"predictions\": ...}) per line, or a JSON array.")
        var orders: String

        @Option(name: .long, help: "The ruleset to compare with (the live one); default: none.")
        var against: String?

        @Flag(name: .long, help: "Print the full report as JSON.")
        var json = false

        func run() throws {
            let draft = try RulesetFiles.load(ruleset)
            let live = try against.map { try RulesetFiles.load($0) }
            let list = try RulesetFiles.orders(orders)
            let progress = ProgressBar(total: list.count)
            let report = Simulator.run(before: live, after: draft, orders: list) { progress.update($0) }
            progress.finish()
            Output.out(json ? JSONWriter.render(report.json) : report.text)
        }
    }
}

/// Ruleset files for the CLI: tables named by csv_file are read next to the ruleset.
enum RulesetFiles {
    static func load(_ path: String) throws -> Ruleset {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch { throw ValidationError("cannot read \(path): \(error.localizedDescription)") }
        return try compile(text, file: path, base: URL(fileURLWithPath: path).deletingLastPathComponent())
    }

    static func compile(_ text: String, file: String, base: URL) throws -> Ruleset {
        do {
            return try RulesetParser.compile(text: text, file: file) { path in
                try? String(contentsOf: path.hasPrefix("/") ? URL(fileURLWithPath: path) : base.appendingPathComponent(path), encoding: .utf8)
            }
        } catch {
            Output.err("\(error)")
            throw ExitCode(ExitCodes.manifestInvalid)
        }
    }

    static func orders(_ path: String) throws -> [Simulator.Order] {
        let bytes: [UInt8]
        do { bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path))) } catch { throw ValidationError("cannot read \(path): \(error.localizedDescription)") }
        let text = String(decoding: bytes, as: UTF8.self)
        var entries: [JSONValue] = []
        if text.drop(while: { $0.isWhitespace }).first == "[" {
            do { entries = try JSONParser.parse(bytes).arrayValue ?? [] } catch { throw ValidationError("\(path): \(error)") }
        } else {
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                do { entries.append(try JSONParser.parse(Array(line.utf8))) } catch {
                    throw ValidationError("\(path):\(number + 1): not a JSON order: \(error)")
                }
            }
        }
        return entries.enumerated().map { index, entry in
            let order = entry["order"] ?? entry
            return Simulator.Order.from(order, predictions: entry["predictions"], fallbackNanos: Int64(index) * 1_000_000)
        }
    }
}

/// A progress bar on stderr for long runs (only when stderr is a terminal or there are many orders).
final class ProgressBar {
    let total: Int
    private var shown = false
    init(total: Int) { self.total = total }

    func update(_ done: Int) {
        guard total >= 5000 else { return }
        shown = true
        let width = 30
        let filled = total == 0 ? width : done * width / total
        let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
        FileHandle.standardError.write(Data("\r[\(bar)] \(done)/\(total) orders".utf8))
    }

    func finish() {
        if shown { FileHandle.standardError.write(Data("\r[\(String(repeating: "#", count: 30))] \(total)/\(total) orders\n".utf8)) }
    }
}
