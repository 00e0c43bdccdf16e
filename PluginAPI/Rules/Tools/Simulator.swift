import HubJSON

/// Replays past orders through a draft ruleset beside the live one, in a sandbox (fresh
/// promotion limits and velocity windows, nothing live touched), and reports what would
/// change: per-rule hits, each order whose outcome differs, and the totals that move.
public enum Simulator {
    public struct Order: Sendable {
        public let id: String
        public let document: RuleDocument
        /// When the order was judged (velocity windows replay in this time).
        public let nanos: Int64
        public init(id: String, document: RuleDocument, nanos: Int64) {
            self.id = id
            self.document = document
            self.nanos = nanos
        }

        /// An order from its canonical JSON; time from `created_at`, else `fallbackNanos`.
        public static func from(_ json: JSONValue, predictions: JSONValue? = nil, fallbackNanos: Int64) -> Order {
            let id = json["id"]?.stringValue ?? json["external_ref"]?.stringValue ?? "?"
            let time = json["created_at"]?.stringValue.flatMap(Timestamp.parseRFC3339) ?? fallbackNanos
            return Order(id: id, document: RuleDocument(json, extras: predictions.map { [("predictions", $0)] } ?? []), nanos: time)
        }
    }

    /// What a person compares: the effects of an outcome, not its explanations.
    struct Summary: Equatable {
        var discountMinor: Int64 = 0
        var hold: String?
        var gifts: [String] = []
        var route: String?
        var tags: [String] = []
        var fields: [String] = []
        var shipping: String?
        var fulfillments = 0

        init(_ o: RuleOutcome?) {
            guard let o else { return }
            discountMinor = o.discountMinor
            hold = o.hold.map { "\($0.type): \($0.reason)" }
            gifts = o.gifts.map { "\($0.quantity)×\($0.sku)" }
            route = o.route?.warehouses.first
            tags = o.tags
            fields = o.fields.map { "\($0.0)=\($0.1.toText)" }
            shipping = o.shipping?.serviceLevel
            fulfillments = o.fulfillments.count
        }

        var json: JSONValue {
            .object([
                ("discount", .string(MoneyText.format(discountMinor))), ("hold", hold.map(JSONValue.string) ?? .null),
                ("gifts", .array(gifts.map(JSONValue.string))), ("route", route.map(JSONValue.string) ?? .null),
                ("tags", .array(tags.map(JSONValue.string))), ("fields", .array(fields.map(JSONValue.string))),
                ("shipping", shipping.map(JSONValue.string) ?? .null), ("fulfillments", .number(String(fulfillments))),
            ])
        }
    }

    public struct Report: Sendable {
        public var orders = 0
        public var hitsBefore: [String: Int] = [:]
        public var hitsAfter: [String: Int] = [:]
        public var changed: [(id: String, before: JSONValue, after: JSONValue)] = []
        public var totalsBefore = Totals()
        public var totalsAfter = Totals()
        public var before: (id: String, version: Int)?
        public var after: (id: String, version: Int)

        public struct Totals: Sendable {
            public var discountMinor: Int64 = 0
            public var holds = 0
            public var gifts = 0
            public var routes: [String: Int] = [:]
            mutating func add(_ o: RuleOutcome?) {
                guard let o else { return }
                discountMinor += o.discountMinor
                holds += o.hold == nil ? 0 : 1
                gifts += o.gifts.count
                if let w = o.route?.warehouses.first { routes[w, default: 0] += 1 }
            }
            var json: JSONValue {
                .object([
                    ("discount", .string(MoneyText.format(discountMinor))), ("holds", .number(String(holds))),
                    ("gifts", .number(String(gifts))),
                    ("routes", .object(routes.sorted { $0.key < $1.key }.map { ($0.key, .number(String($0.value))) })),
                ])
            }
        }

        public var json: JSONValue {
            let rules = Set(hitsBefore.keys).union(hitsAfter.keys).sorted()
            return .object([
                ("before", before.map { .object([("ruleset", .string($0.id)), ("version", .number(String($0.version)))]) } ?? .null),
                ("after", .object([("ruleset", .string(after.id)), ("version", .number(String(after.version)))])),
                ("orders", .number(String(orders))),
                ("rules", .array(rules.map { rule in
                    .object([("rule", .string(rule)), ("hits_before", .number(String(hitsBefore[rule] ?? 0))),
                             ("hits_after", .number(String(hitsAfter[rule] ?? 0)))])
                })),
                ("totals", .object([("before", totalsBefore.json), ("after", totalsAfter.json)])),
                ("changed_count", .number(String(changed.count))),
                ("changed", .array(changed.map { .object([("order", .string($0.id)), ("before", $0.before), ("after", $0.after)]) })),
            ])
        }

        /// A short text report for the terminal.
        public var text: String {
            var lines: [String] = []
            let beforeName = before.map { "\($0.id) v\($0.version)" } ?? "no live ruleset"
            lines.append("simulated \(orders) orders: \(beforeName) → \(after.id) v\(after.version)")
            lines.append("rule hits (before → after):")
            for rule in Set(hitsBefore.keys).union(hitsAfter.keys).sorted() {
                lines.append("  \(rule): \(hitsBefore[rule] ?? 0) → \(hitsAfter[rule] ?? 0)")
            }
            lines.append("discount: \(MoneyText.format(totalsBefore.discountMinor)) → \(MoneyText.format(totalsAfter.discountMinor))")
            lines.append("holds: \(totalsBefore.holds) → \(totalsAfter.holds); gifts: \(totalsBefore.gifts) → \(totalsAfter.gifts)")
            lines.append("orders whose outcome changes: \(changed.count)")
            for change in changed.prefix(20) {
                lines.append("  \(change.id): \(JSONWriter.render(change.before)) → \(JSONWriter.render(change.after))")
            }
            if changed.count > 20 { lines.append("  ... \(changed.count - 20) more (use --json for all)") }
            return lines.joined(separator: "\n")
        }
    }

    public static func run(
        before: Ruleset?, after: Ruleset, orders: [Order], progress: ((Int) -> Void)? = nil
    ) -> Report {
        var report = Report(before: before.map { ($0.id, $0.version) }, after: (after.id, after.version))
        let stateBefore = RuleState(), stateAfter = RuleState()
        for (index, order) in orders.sorted(by: { $0.nanos < $1.nanos }).enumerated() {
            let old = before?.evaluate(order.document, state: stateBefore, nowNanos: order.nanos)
            let new = after.evaluate(order.document, state: stateAfter, nowNanos: order.nanos)
            report.orders += 1
            for fired in old?.fired ?? [] { report.hitsBefore[fired.rule, default: 0] += 1 }
            for fired in new.fired { report.hitsAfter[fired.rule, default: 0] += 1 }
            report.totalsBefore.add(old)
            report.totalsAfter.add(new)
            let (a, b) = (Summary(old), Summary(new))
            if a != b { report.changed.append((order.id, a.json, b.json)) }
            if let progress, index % 1000 == 999 { progress(index + 1) }
        }
        return report
    }
}
