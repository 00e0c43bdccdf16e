import HubJSON

/// Findings about a ruleset before it goes live: rules that can never fire, exclusive
/// promotions that overlap, and each rule's lineage (fields it reads and writes).
public struct LintReport: Sendable {
    public struct Finding: Sendable {
        public let severity: String  // "error" | "warning"
        public let rule: String
        public let line: Int
        public let message: String
    }
    public var findings: [Finding] = []
    public var lineage: [(rule: String, reads: [String], writes: [String])] = []
    public let ruleset: String

    public init(_ ruleset: Ruleset, file: String) {
        self.ruleset = ruleset.id
        for rule in ruleset.rules {
            lineage.append((rule.id, rule.reads, rule.writes))
            if let constant = rule.condition?.constant, !constant.truthy {
                findings.append(.init(severity: "error", rule: rule.id, line: rule.line, message: "its condition is always false: it can never fire"))
            } else if let when = rule.whenSource, let ranges = Constraints(when), ranges.isEmpty {
                findings.append(.init(severity: "error", rule: rule.id, line: rule.line,
                                      message: "its condition contradicts itself (\(ranges.contradiction ?? "")): it can never fire"))
            }
            if rule.table?.rows.isEmpty == true {
                findings.append(.init(severity: "error", rule: rule.id, line: rule.line, message: "its decision table has no rows"))
            }
            if let limits = rule.promotion?.limits, limits.redemptions == 0 || limits.budgetMinor == 0 {
                findings.append(.init(severity: "error", rule: rule.id, line: rule.line, message: "its limits allow nothing"))
            }
        }
        // Exclusive promotions in one group whose conditions can both hold: only the higher
        // priority applies, which authors often do not intend.
        let exclusive = ruleset.rules.filter { $0.promotion?.stacking == .exclusive }
        for (i, a) in exclusive.enumerated() {
            for b in exclusive[(i + 1)...] where a.promotion?.group == b.promotion?.group {
                let ca = a.whenSource.flatMap { Constraints($0) }, cb = b.whenSource.flatMap { Constraints($0) }
                if let ca, let cb, ca.disjoint(from: cb) { continue }
                findings.append(.init(
                    severity: "warning", rule: b.id, line: b.line,
                    message: "overlaps exclusive promotion '\(a.id)' (group '\(a.promotion?.group ?? "")'): when both match only '\(a.id)' applies (priority \(a.priority) ≥ \(b.priority))"))
            }
        }
        for rule in ruleset.rules where rule.velocity != nil && rule.velocity!.atLeast == 1 {
            findings.append(.init(severity: "warning", rule: rule.id, line: rule.line, message: "velocity.at_least is 1: it fires on every order with a key"))
        }
    }

    public var hasErrors: Bool { findings.contains { $0.severity == "error" } }

    public var json: JSONValue {
        .object([
            ("ruleset", .string(ruleset)),
            ("findings", .array(findings.map { f in
                .object([("severity", .string(f.severity)), ("rule", .string(f.rule)), ("line", .number(String(f.line))),
                         ("message", .string(f.message))])
            })),
            ("lineage", .array(lineage.map { l in
                .object([("rule", .string(l.rule)), ("reads", .array(l.reads.map(JSONValue.string))),
                         ("writes", .array(l.writes.map(JSONValue.string)))])
            })),
        ])
    }

    public func text(file: String) -> String {
        var lines = findings.map { "\(file):\($0.line): \($0.severity): rule '\($0.rule)' \($0.message)" }
        if findings.isEmpty { lines.append("\(file): no findings") }
        lines.append("lineage:")
        for l in lineage {
            lines.append("  \(l.rule): reads \(l.reads.isEmpty ? "nothing" : l.reads.joined(separator: ", ")); writes \(l.writes.joined(separator: ", "))")
        }
        return lines.joined(separator: "\n")
    }
}

/// Numeric intervals and equalities a condition demands, when it is a plain AND of
/// comparisons between a field and a constant; nil when the shape is anything else.
struct Constraints {
    var low: [String: (Num, Bool)] = [:]   // path → (bound, inclusive)
    var high: [String: (Num, Bool)] = [:]
    var equals: [String: RuleValue] = [:]
    var contradiction: String?

    init?(_ node: SourceNode) {
        guard let parts = Self.conjuncts(node) else { return nil }
        for part in parts {
            guard let members = part.members, members.count == 1, let args = members[0].value.elements, args.count == 2 else { return nil }
            let op = members[0].key
            var (field, value, flipped) = ("", RuleValue.null, false)
            if let path = args[0]["var"]?.string, let constant = Self.constant(args[1]) { (field, value) = (path, constant) }
            else if let path = args[1]["var"]?.string, let constant = Self.constant(args[0]) { (field, value, flipped) = (path, constant, true) }
            else { return nil }
            switch (op, flipped) {
            case ("==", _), ("===", _):
                if let existing = equals[field], !RuleValue.looseEquals(existing, value) { contradiction = "\(field) cannot equal both \(existing.toText) and \(value.toText)" }
                equals[field] = value
            case (">", false), ("<", true): tighten(field, low: value, inclusive: false)
            case (">=", false), ("<=", true): tighten(field, low: value, inclusive: true)
            case ("<", false), (">", true): tighten(field, high: value, inclusive: false)
            case ("<=", false), (">=", true): tighten(field, high: value, inclusive: true)
            default: return nil
            }
        }
        for (field, value) in equals {
            guard let n = value.numberValue else { continue }
            if let (l, inc) = low[field], let c = Num.compare(n, l), c < 0 || (c == 0 && !inc) { contradiction = "\(field) = \(n) is below \(l)" }
            if let (h, inc) = high[field], let c = Num.compare(n, h), c > 0 || (c == 0 && !inc) { contradiction = "\(field) = \(n) is above \(h)" }
        }
        for (field, (l, li)) in low {
            guard let (h, hi) = high[field], let c = Num.compare(l, h) else { continue }
            if c > 0 || (c == 0 && !(li && hi)) { contradiction = "\(field) must be above \(l) and below \(h)" }
        }
    }

    var isEmpty: Bool { contradiction != nil }

    /// True when no value can satisfy both (different equalities or disjoint ranges on one field).
    func disjoint(from other: Constraints) -> Bool {
        var merged = self
        for (field, value) in other.equals {
            if let mine = merged.equals[field], !RuleValue.looseEquals(mine, value) { return true }
        }
        for (field, (n, inc)) in other.low { merged.tighten(field, low: .number(n), inclusive: inc) }
        for (field, (n, inc)) in other.high { merged.tighten(field, high: .number(n), inclusive: inc) }
        for (field, (l, li)) in merged.low {
            guard let (h, hi) = merged.high[field], let c = Num.compare(l, h) else { continue }
            if c > 0 || (c == 0 && !(li && hi)) { return true }
        }
        return false
    }

    /// Keeps the stricter bound; at the same value an exclusive bound is stricter.
    mutating func tighten(_ field: String, low value: RuleValue, inclusive: Bool) {
        guard let n = value.numberValue else { return }
        if let (current, currentInclusive) = low[field], let c = Num.compare(current, n) {
            if c > 0 { return }
            if c == 0 { low[field] = (n, currentInclusive && inclusive); return }
        }
        low[field] = (n, inclusive)
    }

    mutating func tighten(_ field: String, high value: RuleValue, inclusive: Bool) {
        guard let n = value.numberValue else { return }
        if let (current, currentInclusive) = high[field], let c = Num.compare(current, n) {
            if c < 0 { return }
            if c == 0 { high[field] = (n, currentInclusive && inclusive); return }
        }
        high[field] = (n, inclusive)
    }

    static func conjuncts(_ node: SourceNode) -> [SourceNode]? {
        if let and = node["and"], node.members?.count == 1 {
            guard let list = and.elements else { return nil }
            var out: [SourceNode] = []
            for part in list {
                guard let inner = conjuncts(part) else { return nil }
                out += inner
            }
            return out
        }
        return [node]
    }

    static func constant(_ node: SourceNode) -> RuleValue? {
        switch node.value {
        case .number(let n): return Num.parse(n).map(RuleValue.number)
        case .string(let s): return .string(s)
        case .bool(let b): return .bool(b)
        default: return nil
        }
    }
}
