import HubJSON

/// The document a rule reads: the order (or any JSON for `orderhub rules eval`) plus what the
/// hub already knows beside it ("predictions"), looked up by dotted path.
public struct RuleDocument: Sendable {
    public let primary: JSONValue
    public let extras: [(key: String, value: JSONValue)]

    public init(_ primary: JSONValue, extras: [(key: String, value: JSONValue)] = []) {
        self.primary = primary
        self.extras = extras
    }

    /// The value at a dotted path ("items.0.sku"), nil when any step is absent.
    public func resolve(_ path: [String]) -> JSONValue? {
        guard let first = path.first else { return root }
        var current: JSONValue
        if let extra = extras.first(where: { $0.key == first }) {
            current = extra.value
        } else if let found = Self.step(primary, first) {
            current = found
        } else {
            return nil
        }
        for segment in path.dropFirst() {
            guard let next = Self.step(current, segment) else { return nil }
            current = next
        }
        return current
    }

    var root: JSONValue {
        guard !extras.isEmpty, case .object(let members) = primary else { return primary }
        return .object(members + extras)
    }

    static func step(_ value: JSONValue, _ segment: String) -> JSONValue? {
        switch value {
        case .object(let members): return members.first { $0.key == segment }?.value
        case .array(let elements):
            guard let index = Int(segment), index >= 0, index < elements.count else { return nil }
            return elements[index]
        default: return nil
        }
    }
}

/// Per-evaluation state: the document, a cache of root paths already resolved (each path is
/// read from the JSON once per order however many rules use it), the iteration scopes of
/// map/filter/reduce, and the values noted for explanations.
public final class EvalFrame {
    public let document: RuleDocument
    public let environment: RuleEnvironment
    /// Evaluation time (unix ns): the hub's clock live, the recorded time in a replay.
    public let nowNanos: Int64
    var slots: [RuleValue?]
    var numberSlots: [Num?]
    /// The element map/filter/reduce/items operators are visiting (nil at the order's level).
    var current: RuleValue?

    @inline(__always) func enter(_ value: RuleValue) -> RuleValue? {
        let saved = current
        current = value
        return saved
    }

    @inline(__always) func leave(_ saved: RuleValue?) { current = saved }
    /// (label, value) pairs read while evaluating the current rule; see `RuleOutcome.why`.
    var notes: [(String, RuleValue)] = []
    var noting = false
    var localOffsetCache: (utcSecond: Int64, offset: Int64)?

    public init(document: RuleDocument, environment: RuleEnvironment, slotCount: Int, nowNanos: Int64) {
        self.document = document
        self.environment = environment
        self.nowNanos = nowNanos
        slots = Array(repeating: nil, count: slotCount)
        numberSlots = Array(repeating: nil, count: slotCount)
    }

    @inline(__always)
    func slot(_ index: Int, _ path: [String]) -> RuleValue {
        if let cached = slots[index] { return cached }
        let value = document.resolve(path).map(RuleValue.init) ?? .null
        slots[index] = value
        return value
    }

    /// An order field's cached value, noted for the explanation when one is being gathered.
    func read(_ field: Compiled.RootField) -> RuleValue {
        let value = slot(field.slot, field.path)
        if noting && !value.isNull { notes.append((field.label, value)) }
        return value
    }

    func note(_ label: String, _ value: RuleValue) {
        if noting { notes.append((label, value)) }
    }

    func beginRule() {
        notes.removeAll(keepingCapacity: true)
        noting = false
    }

    /// The order's lines, converted once per evaluation.
    var items: [RuleValue] {
        if let cachedItems { return cachedItems }
        let value = document.resolve(["items"]).map(RuleValue.init)?.arrayValue ?? []
        cachedItems = value
        return value
    }
    var cachedItems: [RuleValue]?

    /// quantity and quantity × unit_price of each line, computed once per evaluation.
    var lineTotals: [(quantity: Num, total: Num)] {
        if let cachedLineTotals { return cachedLineTotals }
        let value = items.map { item -> (quantity: Num, total: Num) in
            let quantity = (item["quantity"] ?? .null).toNumber
            return (quantity, quantity * (item["unit_price"] ?? .null).toNumber)
        }
        cachedLineTotals = value
        return value
    }
    var cachedLineTotals: [(quantity: Num, total: Num)]?

    /// Σ quantity and Σ quantity × unit_price over all lines, once per evaluation.
    var allLines: (quantity: Num, total: Num) {
        if let cachedAllLines { return cachedAllLines }
        let value = lineTotals.reduce((Num(0), Num(0))) { ($0.0 + $1.quantity, $0.1 + $1.total) }
        cachedAllLines = value
        return value
    }
    var cachedAllLines: (quantity: Num, total: Num)?

    /// Number(x) of a root slot, cached like the slot.
    func numberSlot(_ index: Int, _ path: [String]) -> Num {
        if let cached = numberSlots[index] { return cached }
        let value = slot(index, path).toNumber
        numberSlots[index] = value
        return value
    }
    /// When the order was placed (created_at, else now), parsed once per evaluation.
    var placedAtSeconds: Int64?
}
