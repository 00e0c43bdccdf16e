import HubJSON
import HubLoader

/// The order fields a plugin was granted in the manifest (`fields:`): the host hands a
/// plugin only these, so a carrier's connector gets the ship-to address but never the
/// payment or the client's IP. A grant names a top-level field (`ship_to`) or one part of
/// it (`customer.tier`); the order's id is always handed over. With no `fields:` a plugin
/// sees the whole order.
public struct FieldGrant: Sendable, Equatable {
    public let fields: [String]

    public init(_ fields: [String]) { self.fields = fields }

    /// Fields that have parts a grant may name one by one.
    static let parts: [String: [String]] = [
        "customer": OrderRequest.customerKeys, "ship_to": OrderRequest.shipToKeys, "payment": OrderRequest.paymentKeys,
        "shipping": OrderRequest.shippingKeys, "items": OrderRequest.itemKeys,
    ]

    /// Why `field` cannot be granted, or nil when it can.
    static func problem(with field: String) -> String? {
        let pieces = field.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard OrderRequest.topKeys.contains(pieces[0]) else {
            return "'\(field)' is not an order field (fields: \(OrderRequest.topKeys.joined(separator: ", ")))"
        }
        guard pieces.count > 1 else { return nil }
        if pieces[0] == "metadata" { return pieces.count == 2 && !pieces[1].isEmpty ? nil : "'\(field)': name one metadata key, e.g. metadata.gift_note" }
        guard pieces.count == 2, let known = parts[pieces[0]], known.contains(pieces[1]) else {
            let known = parts[pieces[0]].map { "; \(pieces[0]) has \($0.joined(separator: ", "))" } ?? "; \(pieces[0]) has no parts"
            return "'\(field)' is not a part of an order field\(known)"
        }
        return nil
    }

    /// True when `path` ("ship_to" or "ship_to.city") may be seen.
    func allows(_ path: String) -> Bool {
        if fields.contains(path) { return true }
        guard let dot = path.firstIndex(of: ".") else { return false }
        return fields.contains(String(path[..<dot]))
    }

    /// The order as a plugin with this grant sees it: JSON and typed fields alike.
    public func apply(to order: OrderFields) -> OrderFields {
        var seen = order
        if let json = try? JSONParser.parse(order.json) {
            var writer = JSONWriter(capacity: order.json.count)
            writer.value(apply(toOrderJSON: json))
            seen.json = writer.bytes
        } else {
            seen.json = Array("{}".utf8)
        }
        if !allows("external_ref") { seen.externalRef = "" }
        if !allows("channel") { seen.channel = "" }
        if !allows("currency") { seen.currency = "" }
        if !allows("client_ip") { seen.clientIP = "" }
        if !allows("customer.id") { seen.customerID = "" }
        if !allows("customer.tier") { seen.customerTier = "" }
        if !allows("ship_to.country") { seen.shipCountry = "" }
        if !allows("ship_to.region") { seen.shipRegion = "" }
        if !allows("ship_to.postal_code") { seen.shipPostal = "" }
        if !allows("payment.method") { seen.paymentMethod = "" }
        if !allows("items") {
            seen.items = []
            seen.itemsTotalMinor = 0
        }
        if !allows("shipping.fee") { seen.shippingMinor = 0 }
        if !allows("shipping.promised_days") { seen.promisedDays = -1 }
        if !allows("created_at") { seen.createdUnixMillis = 0 }
        return seen
    }

    /// The order object with only granted members (and its id).
    public func apply(toOrderJSON order: JSONValue) -> JSONValue {
        guard let members = order.objectValue else { return order }
        return .object(members.compactMap { member -> (key: String, value: JSONValue)? in
            if member.key == "id" || fields.contains(member.key) { return member }
            let granted = fields.filter { $0.hasPrefix(member.key + ".") }.map { String($0.dropFirst(member.key.count + 1)) }
            guard !granted.isEmpty else { return nil }
            switch member.value {
            case .object(let inner): return (member.key, .object(inner.filter { granted.contains($0.key) }))
            case .array(let list):
                return (member.key, .array(list.map { item in .object((item.objectValue ?? []).filter { granted.contains($0.key) }) }))
            default: return nil
            }
        })
    }

    /// A dispatch instruction (or any event data holding the order under "order") with the
    /// order cut down to the grant; data that is not JSON is withheld entirely.
    public func apply(toInstruction bytes: [UInt8]) -> [UInt8] {
        guard let value = try? JSONParser.parse(bytes), let members = value.objectValue else { return Array("{}".utf8) }
        var writer = JSONWriter(capacity: bytes.count)
        writer.value(.object(members.map { member in
            member.key == "order" ? (member.key, apply(toOrderJSON: member.value)) : member
        }))
        return writer.bytes
    }
}
