import Foundation
import HubJSON

/// A decision table (in the spirit of DMN and GoRules' JDM): named inputs, rows of input
/// tests and actions, and a hit policy deciding which matching rows count.
public struct DecisionTable: Sendable {
    public enum HitPolicy: String, Sendable {
        /// The first matching row, in the order written.
        case first
        /// At most one row may match; two matching rows is an error (the order is held).
        case unique
        /// The matching row with the highest `priority`.
        case priority
        /// Every matching row.
        case collect
    }
    public let hit: HitPolicy
    public let inputs: [(name: String, expr: Compiled)]
    let inputExprs: [Expr]
    public let rows: [Row]

    /// A class: rows are walked for every order, and a struct of arrays would be copied.
    public final class Row: Sendable {
        public let number: Int
        public let line: Int
        public let tests: [CellTest]
        public let actions: [RuleAction]
        public let priority: Int
        /// Inputs this row actually tests (not "any"): its specificity.
        public let specificity: Int

        init(number: Int, line: Int, tests: [CellTest], actions: [RuleAction], priority: Int) {
            self.number = number
            self.line = line
            self.tests = tests
            self.actions = actions
            self.priority = priority
            specificity = tests.filter { if case .any = $0 { return false } else { return true } }.count
        }

        func matches(_ values: [RuleValue]) -> Bool {
            for index in tests.indices where !tests[index].matches(values[index]) { return false }
            return true
        }
    }

    /// The inputs' values for this order.
    func values(_ frame: EvalFrame) -> [RuleValue] { inputExprs.map { $0(frame) } }

    /// Whether any row matches (what a condition-only run needs), without building a result.
    func anyRow(_ values: [RuleValue]) -> Bool {
        for row in rows where row.matches(values) { return true }
        return false
    }

    /// Rows matching these input values, per the hit policy. Throws for a unique violation.
    func select(_ values: [RuleValue]) -> Result<[Row], TableConflict> {
        var matches: [Row] = []
        for row in rows where row.matches(values) {
            if hit == .first { return .success([row]) }
            matches.append(row)
        }
        switch hit {
        case .unique where matches.count > 1:
            return .failure(TableConflict(rows: matches.map(\.number)))
        case .priority:
            guard let best = matches.max(by: { $0.priority < $1.priority || ($0.priority == $1.priority && $0.number > $1.number) }) else {
                return .success([])
            }
            return .success([best])
        default: return .success(matches)
        }
    }

    struct TableConflict: Error { let rows: [Int] }
}

/// One cell of a decision table: a test on one input value.
public enum CellTest: Sendable {
    case any
    case equals(RuleValue)
    case oneOf([RuleValue])
    case compare(String, RuleValue)
    case range(RuleValue, RuleValue)

    func matches(_ value: RuleValue) -> Bool {
        switch self {
        case .any: return true
        case .equals(let expected): return RuleValue.looseEquals(value, expected)
        case .oneOf(let options): return options.contains { RuleValue.looseEquals(value, $0) }
        case .compare(let op, let bound):
            guard let order = RuleValue.compare(value, bound) else { return false }
            switch op {
            case "<": return order < 0
            case "<=": return order <= 0
            case ">": return order > 0
            case ">=": return order >= 0
            default: return !RuleValue.looseEquals(value, bound)
            }
        case .range(let low, let high):
            guard let a = RuleValue.compare(value, low), let b = RuleValue.compare(value, high) else { return false }
            return a >= 0 && b <= 0
        }
    }

    /// Cell text as business users write it: `-` (any), `SP`, `[SP, RJ]`, `>= 300`, `[100..500]`.
    static func parse(_ node: SourceNode) -> CellTest? {
        switch node.value {
        case .null: return .any
        case .bool(let b): return .equals(.bool(b))
        case .number(let n): return Num.parse(n).map { .equals(.number($0)) }
        case .array(let list): return .oneOf(list.map { RuleValue($0.json) })
        case .object: return nil
        case .string(let raw):
            let text = raw.trimmingWhitespace
            if text == "-" || text.isEmpty { return .any }
            for op in [">=", "<=", "!=", ">", "<"] where text.hasPrefix(op) {
                return .compare(op, literal(String(text.dropFirst(op.count)).trimmingWhitespace))
            }
            if text.hasPrefix("["), text.hasSuffix("]"), let dots = text.range(of: "..") {
                let low = String(text[text.index(after: text.startIndex)..<dots.lowerBound]).trimmingWhitespace
                let high = String(text[dots.upperBound..<text.index(before: text.endIndex)]).trimmingWhitespace
                return .range(literal(low), literal(high))
            }
            return .equals(.string(raw))
        }
    }

    private static func literal(_ text: String) -> RuleValue {
        if let number = Num.parse(text) { return .number(number) }
        if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") { return .string(String(text.dropFirst().dropLast())) }
        return .string(text)
    }
}

extension RulesetParser {
    func decisionTable(_ node: SourceNode) throws(RuleError) -> DecisionTable {
        try allow(node, ["hit", "inputs", "rows"], in: "decide")
        let hitName = node["hit"]?.string ?? "first"
        guard let hit = DecisionTable.HitPolicy(rawValue: hitName) else {
            throw error(node["hit"] ?? node, "decide.hit must be first, unique, priority or collect")
        }
        guard let inputNodes = node["inputs"]?.members, !inputNodes.isEmpty else {
            throw error(node["inputs"] ?? node, "decide.inputs names each input and how to read it, e.g. region: {\"var\": \"ship_to.region\"}")
        }
        var inputs: [(name: String, expr: Compiled)] = []
        // An input may be text: "ship_to.region" or "items_total()".
        for (name, expr) in inputNodes { inputs.append((name, try compiler.compile(try condition(expr)))) }
        guard let rowNodes = node["rows"]?.elements, !rowNodes.isEmpty else { throw error(node["rows"] ?? node, "decide.rows needs at least one row") }
        var rows: [DecisionTable.Row] = []
        for (index, rowNode) in rowNodes.enumerated() {
            try allow(rowNode, ["when", "then", "priority"], in: "decide.rows[\(index)]")
            var tests = Array(repeating: CellTest.any, count: inputs.count)
            if let when = rowNode["when"] {
                guard let cells = when.members else { throw error(when, "a row's 'when' maps input names to tests") }
                for (name, cell) in cells {
                    guard let position = inputs.firstIndex(where: { $0.name == name }) else {
                        throw error(cell, "row \(index + 1): '\(name)' is not an input (inputs: \(inputs.map(\.name).joined(separator: ", ")))")
                    }
                    guard let test = CellTest.parse(cell) else {
                        throw error(cell, "row \(index + 1): a cell is a value, a list, '-', a comparison such as '>= 300' or a range '[100..500]'")
                    }
                    tests[position] = test
                }
            }
            guard let then = rowNode["then"] else { throw error(rowNode, "row \(index + 1) needs 'then'") }
            let priority = try rowNode["priority"].map { (p) throws(RuleError) in try integer(p, "row priority", -1_000_000...1_000_000) } ?? 0
            rows.append(.init(number: index + 1, line: rowNode.line, tests: tests, actions: try actions(then), priority: priority))
        }
        return DecisionTable(hit: hit, inputs: inputs, inputExprs: inputs.map(\.expr.expr), rows: rows)
    }
}
