import HubJSON

/// A compiled expression: a closure over the evaluation frame. Rules are compiled once, at
/// publish time; evaluating an order never looks at rule JSON again.
public typealias Expr = @Sendable (EvalFrame) -> RuleValue

/// One compiled expression plus what the compiler learnt about it.
public struct Compiled: Sendable {
    public let expr: Expr
    /// Set when the expression reads nothing from the order: its value is known now.
    public let constant: RuleValue?

    init(_ expr: @escaping Expr) {
        self.expr = expr
        constant = nil
    }
    init(constant value: RuleValue) {
        expr = { _ in value }
        constant = value
    }
}

/// Compiles JSON Logic (jsonlogic.com) plus OrderHub's order-domain operators into closures.
/// Root `var` paths get a slot each, shared by every rule of a ruleset, so a field is read
/// from the order once per evaluation.
public final class LogicCompiler {
    public let file: String
    public var rule: String?
    let tables: [String: LookupTable]
    private(set) var slotOf: [String: Int] = [:]
    /// Root paths read by the expressions compiled since `beginReads()`: the rule's lineage.
    public private(set) var reads: [String] = []
    var depth = 0
    /// Inside an items operator or a discount's line filter: item fields are noted in the
    /// lineage as "items[].sku".
    var itemScope = false

    public init(file: String, tables: [String: LookupTable] = [:]) {
        self.file = file
        self.tables = tables
    }

    public var slotCount: Int { slotOf.count }
    public func beginReads() { reads = [] }

    func error(_ node: SourceNode, _ message: String) -> RuleError {
        RuleError(file: file, line: node.line, column: node.column, rule: rule, message: message)
    }

    public func compile(_ node: SourceNode) throws(RuleError) -> Compiled {
        switch node.value {
        case .null: return Compiled(constant: .null)
        case .bool(let b): return Compiled(constant: .bool(b))
        case .number(let n): return Compiled(constant: .number(Num.parse(n) ?? .real(.nan)))
        case .string(let s): return Compiled(constant: .string(s))
        case .array(let elements):
            let parts = try elements.map { (element) throws(RuleError) in try compile(element) }
            if parts.allSatisfy({ $0.constant != nil }) { return Compiled(constant: .array(parts.map { $0.constant! })) }
            let exprs = parts.map(\.expr)
            return Compiled { frame in .array(exprs.map { $0(frame) }) }
        case .object(let members):
            // JSON Logic: an object with exactly one key is an operation; anything else is data.
            guard members.count == 1 else { return Compiled(constant: RuleValue(node.json)) }
            let (op, value) = (members[0].key, members[0].value)
            let args = value.elements ?? [value]
            return try operation(op, args, at: node)
        }
    }

    func compileAll(_ args: [SourceNode]) throws(RuleError) -> [Compiled] {
        var out: [Compiled] = []
        for arg in args { out.append(try compile(arg)) }
        return out
    }

    /// Compiles `node` as the body of map/filter/reduce/all/none/some/items_*: its `var`s
    /// read the current element, not the order.
    func compileScoped(_ node: SourceNode, items: Bool = false) throws(RuleError) -> Compiled {
        depth += 1
        let outer = itemScope
        itemScope = items || (itemScope && depth > 1)
        defer {
            depth -= 1
            itemScope = outer
        }
        return try compile(node)
    }

    func noteItemRead(_ path: String) {
        guard itemScope, !path.isEmpty else { return }
        let name = "items[]." + path
        if !reads.contains(name) { reads.append(name) }
    }

    func requireArgs(_ op: String, _ args: [SourceNode], _ range: ClosedRange<Int>, at node: SourceNode) throws(RuleError) {
        guard range.contains(args.count) else {
            let expected = range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound) to \(range.upperBound)"
            throw error(node, "'\(op)' takes \(expected) argument\(range.upperBound == 1 ? "" : "s"), got \(args.count)")
        }
    }

    func operation(_ op: String, _ args: [SourceNode], at node: SourceNode) throws(RuleError) -> Compiled {
        if let standard = try standardOperation(op, args, at: node) { return standard }
        if let domain = try domainOperation(op, args, at: node) { return domain }
        throw error(node, "unknown operator '\(op)' (see docs/rules.md for the operators)")
    }

    /// A pure operation over compiled arguments; folded to a constant when every argument is.
    func pure(_ parts: [Compiled], _ body: @escaping @Sendable ([RuleValue]) -> RuleValue) -> Compiled {
        if parts.allSatisfy({ $0.constant != nil }) { return Compiled(constant: body(parts.map { $0.constant! })) }
        let exprs = parts.map(\.expr)
        switch exprs.count {
        default:
            return Compiled { frame in body(exprs.map { $0(frame) }) }
        }
    }

    func pure2(_ parts: [Compiled], _ body: @escaping @Sendable (RuleValue, RuleValue) -> RuleValue) -> Compiled {
        let a = parts.count > 0 ? parts[0] : Compiled(constant: .null)
        let b = parts.count > 1 ? parts[1] : Compiled(constant: .null)
        if let x = a.constant, let y = b.constant { return Compiled(constant: body(x, y)) }
        let (ea, eb) = (a.expr, b.expr)
        return Compiled { frame in body(ea(frame), eb(frame)) }
    }

    /// The slot for a root path, registering it and noting it as read.
    func rootSlot(_ path: String) -> Int {
        if !reads.contains(path) { reads.append(path) }
        if let slot = slotOf[path] { return slot }
        let slot = slotOf.count
        slotOf[path] = slot
        return slot
    }
}

/// Steps a dotted path through a value (objects by key, arrays by index).
func resolve(_ value: RuleValue, _ path: [String]) -> RuleValue? {
    var current = value
    for segment in path {
        switch current {
        case .object(let members):
            guard let next = members.first(where: { $0.key == segment })?.value else { return nil }
            current = next
        case .array(let elements):
            guard let index = Int(segment), index >= 0, index < elements.count else { return nil }
            current = elements[index]
        default: return nil
        }
    }
    return current
}

func splitPath(_ path: String) -> [String] {
    path.isEmpty ? [] : path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
}

/// Evaluates one JSON Logic expression against one document, without a ruleset: what
/// `orderhub rules eval` runs. Tables and the time zone are empty/UTC unless given.
public enum JSONLogic {
    public static func evaluate(
        _ rule: SourceNode, data: JSONValue, environment: RuleEnvironment = RuleEnvironment(), nowNanos: Int64 = 0
    ) throws(RuleError) -> RuleValue {
        let compiler = LogicCompiler(file: "<rule>", tables: environment.tables)
        let compiled = try compiler.compile(rule)
        let frame = EvalFrame(document: RuleDocument(data), environment: environment, slotCount: compiler.slotCount, nowNanos: nowNanos)
        return compiled.expr(frame)
    }
}
