import Dispatch
import HubJSON

/// The state rules keep across orders: promotion limits and velocity windows.
public struct RuleState: Sendable {
    public let ledger: any PromotionLedger
    public let windows: VelocityWindows
    /// What velocity rules count with: these in-memory windows, or a store several hub nodes
    /// share (so "7 orders from one IP" counts every node's orders).
    public let velocity: any VelocityCounter

    public init(ledger: any PromotionLedger = MemoryLedger(), windows: VelocityWindows = VelocityWindows(), velocity: (any VelocityCounter)? = nil) {
        self.ledger = ledger
        self.windows = windows
        self.velocity = velocity ?? windows
    }
}

/// Counts one order into a velocity window and answers the window's counts (this order included).
public protocol VelocityCounter: Sendable {
    func record(_ key: String, now: Int64, window: Int64, distinct: String?, keepTimes: Int, keepDistinct: Int) -> (count: Int, distinct: Int)
}

extension Ruleset {
    /// Judges one order. Rules run highest priority first; every effect is recorded with the
    /// values that caused it. Never throws: a rule that cannot decide holds the order.
    public func evaluate(_ document: RuleDocument, state: RuleState, nowNanos: Int64) -> RuleOutcome {
        let frame = EvalFrame(document: document, environment: environment, slotCount: slotCount, nowNanos: nowNanos)
        var outcome = RuleOutcome()
        outcome.rulesetID = id
        outcome.rulesetVersion = version
        var stopped: String?
        var groupsTaken: [String: String] = [:]
        var routes: [(priority: Int, specificity: Int, warehouses: [String], rule: String)] = []
        // An order without a customer id counts as its own customer for per-customer limits.
        let customer: String = {
            if case .string(let id)? = document.resolve(["customer", "id"]), !id.isEmpty { return id }
            if case .string(let id)? = document.resolve(["id"]) { return "order:" + id }
            return "order:\(nowNanos)"
        }()

        for rule in rules {
            frame.beginRule()
            if let test = rule.conditionTest {
                // Conditions are pure: evaluate fast, and only for a rule that fires evaluate
                // again noting the values read (its explanation).
                guard test(frame) else { continue }
                frame.noting = true
                _ = test(frame)
            }
            if let velocity = rule.velocity {
                // The key and the distinct value are part of the explanation when it fires.
                frame.noting = true
                let keyValue = velocity.key.expr(frame)
                if keyValue.isNull { continue }  // no key (e.g. no client_ip): nothing to count
                let distinct = velocity.distinct.map { $0.expr(frame).toText }
                let key = id + "/" + rule.id + "/" + keyValue.toText
                // Kept up to at least 100: a version that raises a threshold (up to 100) still
                // counts the orders it inherits exactly.
                let counts = state.velocity.record(key, now: nowNanos, window: velocity.windowNanos, distinct: distinct,
                                                  keepTimes: max(velocity.atLeast, 100), keepDistinct: max(velocity.distinctAtLeast, 100))
                frame.noting = true
                frame.note("velocity.\(velocity.keyLabel)", keyValue)
                frame.note("velocity.count", .int(Int64(counts.count)))
                if velocity.distinct != nil { frame.note("velocity.distinct", .int(Int64(counts.distinct))) }
                guard counts.count >= velocity.atLeast, counts.distinct >= velocity.distinctAtLeast else { continue }
            }
            var actions = rule.actions.map { (action: $0, specificity: 0) }
            if let table = rule.table {
                let values = table.values(frame)
                switch table.select(values) {
                case .failure(let conflict):
                    outcome.errors.append("rule '\(rule.id)': rows \(conflict.rows.map(String.init).joined(separator: " and ")) all match and the hit policy is unique")
                    if outcome.hold == nil {
                        outcome.hold = ("rules_error", "rule '\(rule.id)' could not decide (rows \(conflict.rows.map(String.init).joined(separator: ", ")) all match)", rule.id)
                    }
                    continue
                case .success(let rows):
                    if rows.isEmpty { continue }
                    for (input, value) in zip(table.inputs, values) { frame.notes.append((input.name, value)) }
                    frame.notes.append(("rows", .array(rows.map { .int(Int64($0.number)) })))
                    for row in rows { actions += row.actions.map { (action: $0, specificity: row.specificity) } }
                }
            }
            var fired = RuleOutcome.Fired(rule: rule.id, why: Self.dedupe(frame.notes), did: [])
            frame.noting = false

            if let promotion = rule.promotion {
                if let stopper = stopped {
                    outcome.skipped.append((rule.id, "promotion '\(stopper)' stops later promotions"))
                    continue
                }
                if promotion.stacking == .exclusive, let group = promotion.group, let taken = groupsTaken[group] {
                    outcome.skipped.append((rule.id, "exclusive group '\(group)' already applied by '\(taken)'"))
                    continue
                }
                let discount = actions.reduce(Int64(0)) { total, entry in
                    guard case .discount(let d) = entry.action else { return total }
                    return total + discountMinor(d, frame: frame)
                }
                if !promotion.limits.isEmpty {
                    let request = LedgerRequest(ruleset: id, rule: rule.id, customer: customer, discountMinor: discount, limits: promotion.limits)
                    switch state.ledger.reserve(request) {
                    case .granted: break
                    case .refused(let reason):
                        outcome.skipped.append((rule.id, reason))
                        continue
                    case .failed(let reason):
                        outcome.errors.append("rule '\(rule.id)': promotion limits unavailable: \(reason)")
                        if outcome.hold == nil { outcome.hold = ("rules_error", "promotion '\(rule.id)' could not check its limits", rule.id) }
                        continue
                    }
                }
                if promotion.stacking == .stop { stopped = rule.id }
                if promotion.stacking == .exclusive, let group = promotion.group { groupsTaken[group] = rule.id }
            }

            for entry in actions {
                apply(entry.action, rule: rule, frame: frame, outcome: &outcome, fired: &fired, routes: &routes, rowSpecificity: entry.specificity)
            }
            outcome.fired.append(fired)
        }
        if let best = routes.max(by: { ($0.priority, $0.specificity) < ($1.priority, $1.specificity) }) {
            outcome.route = (best.warehouses, best.rule)
        }
        if let route = outcome.route, !outcome.fulfillments.isEmpty {
            outcome.fulfillments = outcome.fulfillments.map { .init(group: $0.group, warehouse: $0.warehouse ?? route.warehouses[0], lines: $0.lines) }
        }
        let itemsTotal = Self.itemsTotalMinor(frame)
        outcome.discountMinor = min(outcome.discountMinor, itemsTotal)
        return outcome
    }

    private func apply(
        _ action: RuleAction, rule: CompiledRule, frame: EvalFrame, outcome: inout RuleOutcome, fired: inout RuleOutcome.Fired,
        routes: inout [(priority: Int, specificity: Int, warehouses: [String], rule: String)], rowSpecificity: Int
    ) {
        switch action {
        case .discount(let discount):
            let minor = discountMinor(discount, frame: frame)
            outcome.discountMinor += minor
            fired.did.append(("discount_minor", .number(String(minor))))
        case .gift(let sku, let quantity, let name):
            outcome.gifts.append(.init(sku: sku, quantity: quantity, name: name, rule: rule.id))
            fired.did.append(("gift", .string("\(quantity) × \(sku)")))
        case .hold(let type, let reason):
            if outcome.hold == nil { outcome.hold = (type, reason, rule.id) }
            fired.did.append(("hold", .string(type)))
        case .route(let warehouses):
            routes.append((rule.priority, rule.specificity + rowSpecificity, warehouses, rule.id))
            fired.did.append(("route", .string(warehouses[0])))
        case .split(let policy):
            guard outcome.fulfillments.isEmpty else { return }
            outcome.fulfillments = Self.split(policy, frame: frame)
            fired.did.append(("split", .number(String(outcome.fulfillments.count))))
        case .set(let field, let value):
            let computed = value.expr(frame)
            if !outcome.fields.contains(where: { $0.0 == field }) { outcome.fields.append((field, computed)) }
            fired.did.append(("set." + field, computed.json))
        case .tag(let tags):
            for tag in tags where !outcome.tags.contains(tag) { outcome.tags.append(tag) }
            fired.did.append(("tag", .array(tags.map(JSONValue.string))))
        case .shipping(let level):
            if outcome.shipping == nil { outcome.shipping = (level, rule.id) }
            fired.did.append(("shipping", .string(level)))
        }
    }

    /// The discount in minor units: exact decimal arithmetic, percentages rounded half up.
    func discountMinor(_ discount: RuleAction.Discount, frame: EvalFrame) -> Int64 {
        var base = Num(0)
        let items = Self.items(frame)
        let lines = frame.lineTotals
        let filter = discount.lines?.truth
        for index in items.indices {
            let item = items[index]
            // Lines the channel marked no_discount never count toward a discount.
            if (item["no_discount"] ?? .null).truthy { continue }
            if let filter {
                let saved = frame.enter(item)
                let keep = filter(frame)
                frame.leave(saved)
                if !keep { continue }
            }
            base = base + lines[index].total
        }
        let baseMinor = base.minorUnits() ?? 0
        var minor: Int64
        switch discount.size {
        case .amountMinor(let amount): minor = min(amount, baseMinor)
        case .percent(let percent): minor = (base * percent / Num(100)).minorUnits() ?? 0
        }
        if let cap = discount.capMinor { minor = min(minor, cap) }
        return max(0, minor)
    }

    static func items(_ frame: EvalFrame) -> [RuleValue] { frame.items }

    /// The part of the order discounts may take: lines not marked `no_discount`.
    static func itemsTotalMinor(_ frame: EvalFrame) -> Int64 {
        let items = frame.items, lines = frame.lineTotals
        var total = Num(0)
        for index in items.indices where !(items[index]["no_discount"] ?? .null).truthy { total = total + lines[index].total }
        return total.minorUnits() ?? 0
    }


    static func split(_ policy: RuleAction.SplitPolicy, frame: EvalFrame) -> [RuleOutcome.Fulfillment] {
        var groups: [(key: String, warehouse: String?, lines: [(sku: String, quantity: Int64)])] = []
        for item in items(frame) {
            let sku = item["sku"]?.stringValue ?? ""
            let quantity = Int64((item["quantity"] ?? .null).toNumber.integer ?? 0)
            let key: String, warehouse: String?
            switch policy {
            case .presale:
                key = (item["presale"] ?? .null).truthy ? "presale" : "in_stock"
                warehouse = nil
            case .table(let table, let column, let fallback):
                let found = table.value(sku, column: column) ?? fallback
                (key, warehouse) = (found, found)
            }
            if let index = groups.firstIndex(where: { $0.key == key }) {
                groups[index].lines.append((sku, quantity))
            } else {
                groups.append((key, warehouse, [(sku, quantity)]))
            }
        }
        return groups.map { .init(group: $0.key, warehouse: $0.warehouse, lines: $0.lines) }
    }

    static func dedupe(_ notes: [(String, RuleValue)]) -> [(String, RuleValue)] {
        var out: [(String, RuleValue)] = []
        for note in notes where !out.contains(where: { $0.0 == note.0 }) { out.append(note) }
        return out
    }
}
