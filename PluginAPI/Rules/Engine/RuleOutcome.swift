import HubJSON

/// What a ruleset decided for one order, and why: the rules answer of the ABI
/// (hub_rules_api_v1.evaluate) and what `GET /v1/orders/{id}` shows.
public struct RuleOutcome: Sendable {
    public struct Fired: Sendable {
        public let rule: String
        /// The values that made it fire (fields read, sums, velocity counts, table rows).
        public var why: [(String, RuleValue)]
        /// What it did, e.g. ("discount_minor", 5000), ("hold", "risk").
        public var did: [(String, JSONValue)]
    }
    public struct Gift: Sendable { public let sku: String; public let quantity: Int64; public let name: String?; public let rule: String }
    public struct Fulfillment: Sendable {
        public let group: String
        public let warehouse: String?
        public let lines: [(sku: String, quantity: Int64)]
    }

    public var rulesetID = ""
    public var rulesetVersion = 0
    public var fired: [Fired] = []
    /// Rules whose condition held but that did not apply (limit reached, stacking), with why.
    public var skipped: [(rule: String, reason: String)] = []
    public var discountMinor: Int64 = 0
    public var hold: (type: String, reason: String, rule: String)?
    public var tags: [String] = []
    public var gifts: [Gift] = []
    public var route: (warehouses: [String], rule: String)?
    public var fulfillments: [Fulfillment] = []
    public var fields: [(String, RuleValue)] = []
    public var shipping: (serviceLevel: String, rule: String)?
    public var errors: [String] = []

    public init() {}

    /// Merges the outcome of a later ruleset into this one (earlier rulesets win conflicts).
    public mutating func merge(_ other: RuleOutcome) {
        fired += other.fired
        skipped += other.skipped
        discountMinor += other.discountMinor
        if hold == nil { hold = other.hold }
        for tag in other.tags where !tags.contains(tag) { tags.append(tag) }
        gifts += other.gifts
        if route == nil { route = other.route }
        if fulfillments.isEmpty { fulfillments = other.fulfillments }
        for field in other.fields where !fields.contains(where: { $0.0 == field.0 }) { fields.append(field) }
        if shipping == nil { shipping = other.shipping }
        errors += other.errors
    }

    public func write(_ o: inout JSONWriter.ObjectWriter, rulesets: [(id: String, version: Int)]) {
        o.array("rulesets") { a in
            for set in rulesets { a.object { r in r.field("id", set.id); r.field("version", set.version) } }
        }
        o.array("fired") { a in
            for fired in self.fired {
                a.object { f in
                    f.field("rule", fired.rule)
                    f.object("why") { w in for (label, value) in fired.why { w.field(label, value.json) } }
                    f.object("did") { d in for (label, value) in fired.did { d.field(label, value) } }
                    // ABI 1.0 readers look for "effect".
                    f.field("effect", fired.did.first?.0 ?? "none")
                }
            }
        }
        o.array("skipped") { a in
            for skip in skipped { a.object { s in s.field("rule", skip.rule); s.field("reason", skip.reason) } }
        }
        o.field("discount_minor", discountMinor)
        if let hold {
            o.object("hold") { h in h.field("type", hold.type); h.field("reason", hold.reason); h.field("rule", hold.rule) }
        } else {
            o.fieldNull("hold")
        }
        o.array("tags") { a in for tag in tags { a.element(tag) } }
        o.array("gifts") { a in
            for gift in gifts {
                a.object { g in
                    g.field("sku", gift.sku)
                    g.field("quantity", gift.quantity)
                    if let name = gift.name { g.field("name", name) }
                    g.field("unit_price", "0.00")
                    g.field("rule", gift.rule)
                }
            }
        }
        if let route {
            o.object("route") { r in
                r.field("warehouse", route.warehouses[0])
                r.array("fallbacks") { a in for w in route.warehouses.dropFirst() { a.element(w) } }
                r.field("rule", route.rule)
            }
        } else {
            o.fieldNull("route")
        }
        o.array("fulfillments") { a in
            for group in fulfillments {
                a.object { f in
                    f.field("group", group.group)
                    if let warehouse = group.warehouse { f.field("warehouse", warehouse) } else { f.fieldNull("warehouse") }
                    f.array("lines") { l in
                        for line in group.lines { l.object { x in x.field("sku", line.sku); x.field("quantity", line.quantity) } }
                    }
                }
            }
        }
        o.object("fields") { f in for (name, value) in fields { f.field(name, value.json) } }
        if let shipping {
            o.object("shipping") { s in s.field("service_level", shipping.serviceLevel); s.field("rule", shipping.rule) }
        } else {
            o.fieldNull("shipping")
        }
        if !errors.isEmpty { o.array("errors") { a in for e in errors { a.element(e) } } }
    }

    public func json(rulesets: [(id: String, version: Int)]) -> [UInt8] {
        var writer = JSONWriter(capacity: 512)
        writer.object { o in write(&o, rulesets: rulesets) }
        return writer.bytes
    }
}
