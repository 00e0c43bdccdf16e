import HubJSON

/// A compiled expression: a closure over the evaluation frame. Rules are compiled once, at
/// publish time; evaluating an order never looks at rule JSON again.
public typealias Expr = @Sendable (EvalFrame) -> RuleValue

public typealias TruthExpr = @Sendable (EvalFrame) -> Bool
public typealias NumberExpr = @Sendable (EvalFrame) -> Num

/// One compiled expression plus what the compiler learnt about it, and typed fast paths.
///
/// `expr` is the reference: it yields the JSON Logic value. Where an operator knows more, it
/// also gives `test` (the value's truthiness, without building the value) and `number` (the
/// value as JavaScript's Number(x) would read it); `isNumber` says the value is always a
/// number. Conditions run through `truth`, comparisons through `numeric`: no tagged values,
/// fewer reference counts. Each fast path must agree with `expr` (the conformance suite
/// checks `truth` on every case).
public struct Compiled: Sendable {
    public let expr: Expr
    /// Set when the expression reads nothing from the order: its value is known now.
    public let constant: RuleValue?
    var test: TruthExpr?
    var number: NumberExpr?
    var isNumber = false
    /// Set for a plain read of an order field ({"var": "customer.tier"}, no default): lets
    /// comparisons with a constant read the cached field directly.
    var field: RootField?

    struct RootField: Sendable {
        let slot: Int
        let path: [String]
        let label: String
    }

    init(_ expr: @escaping Expr, test: TruthExpr? = nil, number: NumberExpr? = nil, isNumber: Bool = false) {
        self.expr = expr
        constant = nil
        self.test = test
        self.number = number
        self.isNumber = isNumber
    }
    init(constant value: RuleValue) {
        expr = { _ in value }
        constant = value
        let truthy = value.truthy
        test = { _ in truthy }
        let numeric = value.toNumber
        number = { _ in numeric }
        if case .number = value { isNumber = true }
    }

    /// A number-valued expression from its typed closure alone.
    static func numeric(_ number: @escaping NumberExpr) -> Compiled {
        Compiled({ frame in .number(number(frame)) }, test: { frame in number(frame).isTruthy }, number: number, isNumber: true)
    }

    /// A boolean-valued expression from its typed closure alone.
    static func boolean(_ test: @escaping TruthExpr) -> Compiled {
        Compiled({ frame in .bool(test(frame)) }, test: test, number: { frame in Num(test(frame) ? 1 : 0) })
    }

    /// Truthiness, through the fast path when there is one.
    public var truth: TruthExpr {
        if let test { return test }
        let expr = self.expr
        return { frame in expr(frame).truthy }
    }

    /// Number(value), through the fast path when there is one.
    public var numeric: NumberExpr {
        if let number { return number }
        let expr = self.expr
        return { frame in expr(frame).toNumber }
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

    /// A pure predicate over two values (comparisons, equality): typed `test`, folded when
    /// both sides are constant.
    func pureTest2(_ parts: [Compiled], _ body: @escaping @Sendable (RuleValue, RuleValue) -> Bool) -> Compiled {
        let a = parts.count > 0 ? parts[0] : Compiled(constant: .null)
        let b = parts.count > 1 ? parts[1] : Compiled(constant: .null)
        if let x = a.constant, let y = b.constant { return Compiled(constant: .bool(body(x, y))) }
        // An order field against a constant: read the cached field, no closure for it.
        if let field = a.field ?? b.field, let constant = b.constant ?? a.constant {
            let fieldFirst = a.field != nil
            return .boolean { frame in
                let value = frame.read(field)
                return fieldFirst ? body(value, constant) : body(constant, value)
            }
        }
        let (ea, eb) = (a.expr, b.expr)
        if let y = b.constant { return .boolean { frame in body(ea(frame), y) } }
        if let x = a.constant { return .boolean { frame in body(x, eb(frame)) } }
        return .boolean { frame in body(ea(frame), eb(frame)) }
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

    /// Compiles the text form of a condition (see TextExpression) to its JSON Logic tree.
    public static func fromText(_ text: String) throws(RuleError) -> SourceNode {
        try TextExpression.parse(text, file: "<text>", line: 1, column: 1)
    }

    /// The expression's truthiness and Number(value) through the typed fast paths that
    /// conditions and comparisons use (the conformance tests hold them to `evaluate`).
    public static func fastPaths(
        _ rule: SourceNode, data: JSONValue, environment: RuleEnvironment = RuleEnvironment(), nowNanos: Int64 = 0
    ) throws(RuleError) -> (truth: Bool, number: Num) {
        let compiler = LogicCompiler(file: "<rule>", tables: environment.tables)
        let compiled = try compiler.compile(rule)
        let document = RuleDocument(data)
        let first = EvalFrame(document: document, environment: environment, slotCount: compiler.slotCount, nowNanos: nowNanos)
        let second = EvalFrame(document: document, environment: environment, slotCount: compiler.slotCount, nowNanos: nowNanos)
        return (compiled.truth(first), compiled.numeric(second))
    }
}
