import Foundation
import HubJSON

/// A compiled ruleset: immutable, shared by every evaluating thread, replaced as a whole on
/// publish (an order sees the old set or the new one, never a mix).
public struct Ruleset: Sendable {
    public let id: String
    public let description: String
    /// Set by the store when the version is saved; 0 for a ruleset compiled from a file.
    public var version: Int
    public let timeZone: String
    public let rules: [CompiledRule]
    public let tables: [String: LookupTable]
    public let environment: RuleEnvironment
    let slotCount: Int
    /// How long parse, check and compile took (the publish cost).
    public let compileNanos: Int64
}

/// One compiled rule. A class: evaluation walks fifty of these per order, and copying a
/// struct of this size costs a retain per field.
public final class CompiledRule: Sendable {
    public let id: String
    public let description: String
    public let priority: Int
    public let line: Int
    public let column: Int
    public let condition: Compiled?
    /// The condition's truthiness through its typed fast path (what evaluation runs).
    let conditionTest: TruthExpr?
    /// The condition as written, for the lint report.
    public let whenSource: SourceNode?
    public let table: DecisionTable?
    public let velocity: VelocitySpec?
    public let actions: [RuleAction]
    public let promotion: PromotionSpec?
    /// Order fields the rule reads and writes (its lineage).
    public let reads: [String]
    public let writes: [String]
    /// How specific the rule's condition is (compared fields), for routing ties.
    public let specificity: Int

    init(id: String, description: String, priority: Int, line: Int, column: Int, condition: Compiled?, whenSource: SourceNode?,
         table: DecisionTable?, velocity: VelocitySpec?, actions: [RuleAction], promotion: PromotionSpec?, reads: [String],
         writes: [String], specificity: Int) {
        self.id = id
        self.description = description
        self.priority = priority
        self.line = line
        self.column = column
        self.condition = condition
        conditionTest = condition?.truth
        self.whenSource = whenSource
        self.table = table
        self.velocity = velocity
        self.actions = actions
        self.promotion = promotion
        self.reads = reads
        self.writes = writes
        self.specificity = specificity
    }
}

/// How a promotion combines with others, and its limits (held exactly across orders).
public struct PromotionSpec: Sendable {
    public enum Stacking: String, Sendable { case stack, stop, exclusive }
    public let stacking: Stacking
    public let group: String?
    public let limits: Limits

    public struct Limits: Sendable, Equatable {
        /// At most this many orders get it ("first 1,000 buyers").
        public var redemptions: Int64?
        /// At most this many orders per customer.
        public var perCustomer: Int64?
        /// At most this much discount in total, in minor units.
        public var budgetMinor: Int64?
        public var isEmpty: Bool { redemptions == nil && perCustomer == nil && budgetMinor == nil }
    }
}

/// "The same IP placed 7 orders within 12 s to at least 2 recipients": counted over a sliding
/// window keyed by an expression.
public struct VelocitySpec: Sendable {
    public let key: Compiled
    public let keyLabel: String
    public let windowNanos: Int64
    public let atLeast: Int
    public let distinct: Compiled?
    public let distinctAtLeast: Int
}

/// Parses and compiles one ruleset document. Every problem names file, rule, line, column.
public final class RulesetParser {
    let file: String
    let compiler: LogicCompiler
    let tables: [String: LookupTable]

    init(file: String, tables: [String: LookupTable]) {
        self.file = file
        self.tables = tables
        compiler = LogicCompiler(file: file, tables: tables)
    }

    func error(_ node: SourceNode, _ message: String) -> RuleError {
        RuleError(file: file, line: node.line, column: node.column, rule: compiler.rule, message: message)
    }

    /// Compiles a ruleset from its text. `tableFiles` resolves `csv_file:` references (a path
    /// relative to the ruleset); tables given inline (`csv:`) need nothing.
    public static func compile(
        text: String, file: String, tableFiles: (String) -> String? = { _ in nil }
    ) throws(RuleError) -> Ruleset {
        let started = DispatchTime.now().uptimeNanoseconds
        let root = try SourceNode.parse(text, file: file)
        return try compile(root, file: file, tableFiles: tableFiles, started: started)
    }

    public static func compile(
        _ root: SourceNode, file: String, tableFiles: (String) -> String? = { _ in nil }, started: UInt64? = nil
    ) throws(RuleError) -> Ruleset {
        let started = started ?? DispatchTime.now().uptimeNanoseconds
        let probe = RulesetParser(file: file, tables: [:])
        guard root.members != nil else { throw probe.error(root, "a ruleset is an object with 'ruleset' and 'rules'") }
        try probe.allow(root, ["ruleset", "description", "timezone", "tables", "rules"], in: "the ruleset")
        guard let id = root["ruleset"]?.string, Self.isIdentifier(id) else {
            throw probe.error(root["ruleset"] ?? root, "'ruleset' is required: an id such as checkout-promotions (letters, digits, - _ .)")
        }
        let zoneName = root["timezone"]?.string ?? "UTC"
        guard let zone = TimeZone(identifier: zoneName) else {
            throw probe.error(root["timezone"] ?? root, "timezone '\(zoneName)' is not an IANA zone such as America/Sao_Paulo")
        }
        let tables = try probe.tables(root["tables"], tableFiles: tableFiles)
        let parser = RulesetParser(file: file, tables: tables)
        guard let list = root["rules"]?.elements else { throw parser.error(root["rules"] ?? root, "'rules' must be a list") }
        var rules: [CompiledRule] = []
        for entry in list {
            let rule = try parser.rule(entry)
            if rules.contains(where: { $0.id == rule.id }) {
                throw parser.error(entry["id"] ?? entry, "rule id '\(rule.id)' is used twice in this ruleset")
            }
            rules.append(rule)
        }
        // Highest priority first; equal priorities keep the order they were written in.
        let ordered = rules.enumerated().sorted { a, b in
            a.element.priority != b.element.priority ? a.element.priority > b.element.priority : a.offset < b.offset
        }.map(\.element)
        return Ruleset(
            id: id, description: root["description"]?.string ?? "", version: 0, timeZone: zoneName, rules: ordered,
            tables: tables, environment: RuleEnvironment(tables: tables, timeZone: zone), slotCount: parser.compiler.slotCount,
            compileNanos: Int64(DispatchTime.now().uptimeNanoseconds - started))
    }

    static func isIdentifier(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 100 && text.utf8.allSatisfy { c in
            (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 45 || c == 95 || c == 46
        }
    }

    private func tables(_ node: SourceNode?, tableFiles: (String) -> String?) throws(RuleError) -> [String: LookupTable] {
        guard let node else { return [:] }
        guard let members = node.members else { throw error(node, "'tables' maps a table name to {csv_file: PATH} or {csv: TEXT}") }
        var out: [String: LookupTable] = [:]
        for (name, spec) in members {
            try allow(spec, ["csv", "csv_file"], in: "table '\(name)'")
            let text: String
            if let inline = spec["csv"]?.string {
                text = inline
            } else if let path = spec["csv_file"]?.string {
                guard let loaded = tableFiles(path) else { throw error(spec, "table '\(name)': cannot read csv_file '\(path)'") }
                text = loaded
            } else {
                throw error(spec, "table '\(name)' needs csv_file: PATH (relative to the ruleset) or csv: TEXT")
            }
            if let path = spec["csv_file"]?.string {
                out[name] = try LookupTable.parse(name: name, csv: text, file: path)
            } else {
                // An inline table's problems are reported where the table is written.
                do {
                    out[name] = try LookupTable.parse(name: name, csv: text, file: file)
                } catch {
                    throw RuleError(file: file, line: spec.line, column: spec.column, message: "\(error.message) (CSV row \(error.line))")
                }
            }
        }
        return out
    }

    private func rule(_ node: SourceNode) throws(RuleError) -> CompiledRule {
        compiler.rule = nil
        guard node.members != nil else { throw error(node, "each rule is an object with 'id', 'when' and 'then'") }
        guard let id = node["id"]?.string, Self.isIdentifier(id) else {
            throw error(node["id"] ?? node, "a rule needs an 'id' (letters, digits, - _ .)")
        }
        compiler.rule = id
        try allow(node, ["id", "description", "priority", "when", "then", "decide", "velocity", "stacking", "group", "limits"], in: "a rule")
        compiler.beginReads()
        let priority = try node["priority"].map { (p) throws(RuleError) in try integer(p, "priority", -1_000_000...1_000_000) } ?? 0
        let whenTree = try node["when"].map { (when) throws(RuleError) in try self.condition(when) }
        let condition = try whenTree.map { (tree) throws(RuleError) in try compiler.compile(tree) }
        let velocity = try node["velocity"].map { (v) throws(RuleError) in try velocitySpec(v) }
        let table = try node["decide"].map { (d) throws(RuleError) in try decisionTable(d) }
        let actions: [RuleAction]
        if let then = node["then"] {
            actions = try self.actions(then)
        } else if table != nil {
            actions = []
        } else {
            throw error(node, "a rule needs 'then' (what it does) or 'decide' (a decision table)")
        }
        let allActions = actions + (table?.rows.flatMap(\.actions) ?? [])
        let promotion = try promotionSpec(node, isPromotion: allActions.contains { $0.isPromotion })
        var writes: [String] = []
        for action in allActions { for field in action.writes where !writes.contains(field) { writes.append(field) } }
        return CompiledRule(
            id: id, description: node["description"]?.string ?? "", priority: priority, line: node.line, column: node.column,
            condition: condition, whenSource: whenTree, table: table, velocity: velocity, actions: actions, promotion: promotion,
            reads: compiler.reads, writes: writes, specificity: compiler.reads.count)
    }

    private func promotionSpec(_ node: SourceNode, isPromotion: Bool) throws(RuleError) -> PromotionSpec? {
        let stackingNode = node["stacking"], limitsNode = node["limits"], groupNode = node["group"]
        guard isPromotion else {
            if let extra = stackingNode ?? limitsNode ?? groupNode {
                throw error(extra, "stacking, group and limits apply to promotions (rules that give a discount or a gift)")
            }
            return nil
        }
        let stacking: PromotionSpec.Stacking
        if let stackingNode {
            guard let value = stackingNode.string.flatMap(PromotionSpec.Stacking.init(rawValue:)) else {
                throw error(stackingNode, "stacking must be stack, stop or exclusive")
            }
            stacking = value
        } else {
            stacking = .stack
        }
        let group = groupNode?.string
        if stacking == .exclusive && group == nil { throw error(stackingNode ?? node, "an exclusive promotion needs 'group: NAME'") }
        var limits = PromotionSpec.Limits()
        if let limitsNode {
            try allow(limitsNode, ["redemptions", "per_customer", "budget"], in: "limits")
            limits.redemptions = try limitsNode["redemptions"].map { (n) throws(RuleError) in Int64(try integer(n, "limits.redemptions", 1...Int(Int32.max))) }
            limits.perCustomer = try limitsNode["per_customer"].map { (n) throws(RuleError) in Int64(try integer(n, "limits.per_customer", 1...1_000_000)) }
            limits.budgetMinor = try limitsNode["budget"].map { (n) throws(RuleError) in try money(n, "limits.budget") }
        }
        return PromotionSpec(stacking: stacking, group: group, limits: limits)
    }

    private func velocitySpec(_ node: SourceNode) throws(RuleError) -> VelocitySpec {
        try allow(node, ["key", "window", "at_least", "distinct", "distinct_at_least"], in: "velocity")
        guard let keyNode = node["key"] else { throw error(node, "velocity.key is required, e.g. {\"var\": \"client_ip\"}") }
        guard let windowText = node["window"]?.string ?? node["window"].flatMap({ if case .number(let n) = $0.value { return n + "s" } else { return nil } }),
              let window = Self.duration(windowText) else {
            throw error(node["window"] ?? node, "velocity.window is a duration such as 12s, 5m, 1h or 500ms")
        }
        guard let atLeastNode = node["at_least"] else { throw error(node, "velocity.at_least is required (orders in the window, this one included)") }
        let atLeast = try integer(atLeastNode, "velocity.at_least", 1...100_000)
        let distinct = try node["distinct"].map { (d) throws(RuleError) in try compiler.compile(d) }
        let distinctAtLeast = try node["distinct_at_least"].map { (n) throws(RuleError) in try integer(n, "velocity.distinct_at_least", 1...100_000) } ?? (distinct == nil ? 0 : 2)
        if distinct == nil && node["distinct_at_least"] != nil {
            throw error(node["distinct_at_least"]!, "velocity.distinct_at_least needs velocity.distinct (what to count distinct values of)")
        }
        let label = keyNode["var"]?.string ?? "key"
        return VelocitySpec(
            key: try compiler.compile(keyNode), keyLabel: label, windowNanos: window, atLeast: atLeast,
            distinct: distinct, distinctAtLeast: distinctAtLeast)
    }

    /// "12s", "5m", "1h", "500ms", "2d" → nanoseconds.
    static func duration(_ text: String) -> Int64? {
        let units: [(String, Int64)] = [("ms", 1_000_000), ("s", 1_000_000_000), ("m", 60_000_000_000), ("h", 3_600_000_000_000), ("d", 86_400_000_000_000)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            guard let value = Int64(text.dropLast(suffix.count)), value > 0 else { return nil }
            let (nanos, overflow) = value.multipliedReportingOverflow(by: scale)
            return overflow ? nil : nanos
        }
        return nil
    }

    /// A condition as written: JSON Logic, or its text form when written as a string (a bare
    /// string would otherwise be a constant, which is never what a condition means).
    func condition(_ node: SourceNode) throws(RuleError) -> SourceNode {
        guard let text = node.string else { return node }
        do {
            return try TextExpression.parse(text, file: file, line: node.line, column: node.column)
        } catch {
            var located = error
            located.rule = compiler.rule
            throw located
        }
    }

    func allow(_ node: SourceNode, _ keys: [String], in place: String) throws(RuleError) {
        guard let members = node.members else { throw error(node, "\(place) must be an object, got \(node.typeName)") }
        for member in members where !keys.contains(member.key) {
            throw error(member.value, "\(place): unknown key '\(member.key)' (known: \(keys.joined(separator: ", ")))")
        }
    }

    func integer(_ node: SourceNode, _ what: String, _ range: ClosedRange<Int>) throws(RuleError) -> Int {
        guard case .number(let text) = node.value, let value = Int(text), range.contains(value) else {
            throw error(node, "\(what) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// "300.00", "300" or 300 → 30000 minor units: exact, never through a double.
    func money(_ node: SourceNode, _ what: String) throws(RuleError) -> Int64 {
        let text: String
        switch node.value {
        case .number(let n): text = n
        case .string(let s): text = s
        default: throw error(node, "\(what) must be an amount such as \"50.00\"")
        }
        guard let value = Num.parse(text), case .exact(_, let scale) = value, scale <= 2,
              let minor = value.minorUnits(), minor >= 0 else {
            throw error(node, "\(what) '\(text)' is not an amount with at most two decimals")
        }
        return minor
    }
}
