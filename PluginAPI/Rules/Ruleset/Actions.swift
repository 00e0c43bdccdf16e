import HubJSON

/// What a rule does when it fires.
public enum RuleAction: Sendable {
    /// Money off: a fixed amount or a percentage of the order, or of the lines passing `lines`.
    case discount(Discount)
    /// A free line added to the order.
    case gift(sku: String, quantity: Int64, name: String?)
    /// The order goes on_hold for a person; the highest-priority hold names the reason.
    case hold(type: String, reason: String)
    /// Fulfil from these warehouses, in order of preference.
    case route(warehouses: [String])
    /// Split the order into fulfillment orders.
    case split(SplitPolicy)
    /// Write a computed field onto the order (for example a carbon estimate).
    case set(field: String, value: Compiled)
    case tag([String])
    /// Change the shipping service (for example upgrade to express when lateness is likely).
    case shipping(serviceLevel: String)

    public struct Discount: Sendable {
        public enum Size: Sendable { case amountMinor(Int64), percent(Num) }
        public let size: Size
        /// nil: the whole order; otherwise only lines for which this is truthy.
        public let lines: Compiled?
        public let capMinor: Int64?
    }

    public enum SplitPolicy: Sendable {
        /// Presale lines ship apart from lines in stock.
        case presale
        /// Each line ships from the warehouse a lookup table names for its SKU.
        case table(LookupTable, column: String, fallback: String)
    }

    /// The fields this action writes, for the lineage report.
    public var writes: [String] {
        switch self {
        case .discount: return ["discount"]
        case .gift: return ["items (gift line)"]
        case .hold: return ["state (on_hold)", "hold"]
        case .route: return ["route.warehouse"]
        case .split: return ["fulfillments"]
        case .set(let field, _): return ["fields.\(field)"]
        case .tag: return ["tags"]
        case .shipping: return ["shipping.service_level"]
        }
    }

    var isPromotion: Bool {
        switch self {
        case .discount, .gift: return true
        default: return false
        }
    }
}

extension RulesetParser {
    func actions(_ node: SourceNode) throws(RuleError) -> [RuleAction] {
        let list = node.elements ?? [node]
        guard !list.isEmpty else { throw error(node, "'then' needs at least one action") }
        var out: [RuleAction] = []
        for entry in list { out.append(try action(entry)) }
        return out
    }

    private func action(_ node: SourceNode) throws(RuleError) -> RuleAction {
        guard let members = node.members, members.count == 1 else {
            throw error(node, "an action is an object with one key: one of \(Self.actionNames.joined(separator: ", "))")
        }
        let (name, body) = (members[0].key, members[0].value)
        switch name {
        case "discount":
            try allow(body, ["amount", "percent", "lines", "cap"], in: "discount")
            let size: RuleAction.Discount.Size
            switch (body["amount"], body["percent"]) {
            case (let amount?, nil): size = .amountMinor(try money(amount, "discount.amount"))
            case (nil, let percent?):
                let text: String? = { if case .number(let n) = percent.value { return n } else { return percent.string } }()
                guard let text, let value = Num.parse(text),
                      Num.compare(value, Num(0)) == 1, Num.compare(value, Num(100)) != 1 else {
                    throw error(percent, "discount.percent must be a number above 0 and at most 100")
                }
                size = .percent(value)
            default: throw error(body, "discount needs exactly one of 'amount' (\"50.00\") or 'percent' (10)")
            }
            let lines = try body["lines"].map { (filter) throws(RuleError) in try compiler.compileScoped(try condition(filter), items: true) }
            let cap = try body["cap"].map { (value) throws(RuleError) in try money(value, "discount.cap") }
            return .discount(.init(size: size, lines: lines, capMinor: cap))
        case "gift":
            try allow(body, ["sku", "quantity", "name"], in: "gift")
            guard let sku = body["sku"]?.string, !sku.isEmpty else { throw error(body, "gift.sku is required") }
            let quantity = try body["quantity"].map { (q) throws(RuleError) in try integer(q, "gift.quantity", 1...1000) } ?? 1
            return .gift(sku: sku, quantity: Int64(quantity), name: body["name"]?.string)
        case "hold":
            try allow(body, ["type", "reason"], in: "hold")
            guard let reason = body["reason"]?.string, !reason.isEmpty else {
                throw error(body, "hold.reason is required: the sentence a person reads on the order")
            }
            return .hold(type: body["type"]?.string ?? "rule", reason: reason)
        case "route":
            try allow(body, ["warehouse", "warehouses"], in: "route")
            if let one = body["warehouse"]?.string { return .route(warehouses: [one]) }
            if let list = body["warehouses"]?.elements, !list.isEmpty {
                return .route(warehouses: try list.map { (w) throws(RuleError) in
                    guard let name = w.string else { throw error(w, "route.warehouses: each entry is a warehouse id") }
                    return name
                })
            }
            throw error(body, "route needs 'warehouse: ID' or 'warehouses: [ID, ...]' (a priority list)")
        case "split":
            try allow(body, ["by", "table", "column", "fallback"], in: "split")
            switch body["by"]?.string {
            case "presale": return .split(.presale)
            case "table":
                guard let tableName = body["table"]?.string, let table = tables[tableName] else {
                    throw error(body, "split by table needs 'table:' naming one of this ruleset's tables")
                }
                let column = body["column"]?.string ?? table.columns.dropFirst().first ?? ""
                guard table.columns.dropFirst().contains(column) else {
                    throw error(body, "split: table '\(tableName)' has no column '\(column)'")
                }
                return .split(.table(table, column: column, fallback: body["fallback"]?.string ?? "default"))
            default: throw error(body, "split.by must be 'presale' or 'table'")
            }
        case "set":
            try allow(body, ["field", "value"], in: "set")
            guard let field = body["field"]?.string, !field.isEmpty else { throw error(body, "set.field is required") }
            guard let value = body["value"] else { throw error(body, "set.value is required (a value or an expression)") }
            return .set(field: field, value: try compiler.compile(value))
        case "tag":
            if let one = body.string { return .tag([one]) }
            guard let list = body.elements else { throw error(body, "tag is a word or a list of words") }
            return .tag(list.compactMap(\.string))
        case "shipping":
            try allow(body, ["service_level"], in: "shipping")
            guard let level = body["service_level"]?.string else { throw error(body, "shipping.service_level is required (e.g. express)") }
            return .shipping(serviceLevel: level)
        default:
            throw error(members[0].value, "unknown action '\(name)' (actions: \(Self.actionNames.joined(separator: ", ")))")
        }
    }

    static let actionNames = ["discount", "gift", "hold", "route", "split", "set", "tag", "shipping"]
}
