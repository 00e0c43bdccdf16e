import HubJSON
import HubLoader

/// One problem with a submitted order, naming the field by its JSON path.
public struct FieldProblem: Sendable, Equatable, CustomStringConvertible {
    public let field: String
    public let message: String
    public var description: String { "\(field): \(message)" }

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
}

/// A submitted order that failed validation; every problem is listed, not just the first.
public struct OrderValidationError: Error, Sendable {
    public let problems: [FieldProblem]
}

/// Parses and validates `POST /v1/orders` bodies (schema in openapi.yaml, `OrderInput`).
/// Parsing happens once; plugins receive the result as a hub_order, not JSON to re-parse.
public enum OrderRequest {
    static let topKeys = ["external_ref", "channel", "currency", "customer", "items", "ship_to", "payment", "shipping", "created_at", "client_ip", "metadata"]
    static let itemKeys = ["sku", "quantity", "unit_price", "category", "presale", "no_discount", "name"]
    static let customerKeys = ["id", "tier", "email", "name", "phone"]
    static let shipToKeys = ["name", "line1", "line2", "city", "region", "postal_code", "country", "phone"]
    static let paymentKeys = ["method", "amount", "reference"]
    static let shippingKeys = ["fee", "promised_days", "service"]
    public static let maxItems = 500

    /// Validates `body` and returns the order's fields with the canonical JSON (id included).
    public static func parse(_ body: [UInt8], id: String) throws(OrderValidationError) -> OrderFields {
        let json: JSONValue
        do {
            json = try JSONParser.parse(body)
        } catch {
            throw OrderValidationError(problems: [FieldProblem(field: "$", message: "not valid JSON at \(error.line):\(error.column): \(error.message)")])
        }
        var v = Validator()
        guard let members = json.objectValue else {
            throw OrderValidationError(problems: [FieldProblem(field: "$", message: "expected a JSON object, got \(json.typeName)")])
        }
        for member in members where !topKeys.contains(member.key) {
            v.problem(member.key, "unknown field (allowed: \(topKeys.joined(separator: ", ")); put extras under metadata)")
        }
        var order = OrderFields()
        order.id = id
        order.externalRef = v.string(json, "external_ref", max: 128) ?? ""
        order.channel = v.string(json, "channel", max: 64) ?? ""
        order.currency = v.string(json, "currency", max: 3) ?? ""
        if !order.currency.isEmpty && !(order.currency.utf8.count == 3 && order.currency.utf8.allSatisfy { (65...90).contains($0) }) {
            v.problem("currency", "expected an ISO 4217 code such as \"BRL\"")
        }
        readCustomer(json, into: &order, &v)
        readItems(json, into: &order, &v)
        readShipping(json, into: &order, &v)
        if let payment = v.object(json, "payment") {
            v.onlyKeys(payment, paymentKeys, in: "payment")
            order.paymentMethod = v.string(payment, "method", path: "payment.method", max: 64) ?? ""
            if let amount = payment["amount"], amount != .null { _ = v.money(amount, path: "payment.amount") }
            _ = v.optionalString(payment, "reference", path: "payment.reference", max: 128)
        }
        if let created = v.string(json, "created_at", max: 64) {
            if let nanos = Timestamp.parseRFC3339(created) { order.createdUnixMillis = nanos / 1_000_000 } else {
                v.problem("created_at", "expected an RFC 3339 time such as \"2026-11-25T20:15:00Z\"")
            }
        }
        order.clientIP = v.optionalString(json, "client_ip", max: 64) ?? ""
        if let metadata = json["metadata"], metadata.objectValue == nil { v.problem("metadata", "expected an object") }
        guard v.problems.isEmpty else { throw OrderValidationError(problems: v.problems) }
        order.json = withID(id, body)
        return order
    }

    /// The body with `"id"` added first. The body is a validated object without an "id"
    /// member (unknown keys are refused), so splicing is exact and avoids re-serialising it.
    static func withID(_ id: String, _ body: [UInt8]) -> [UInt8] {
        let open = body.firstIndex(of: UInt8(ascii: "{"))!
        var out: [UInt8] = []
        out.reserveCapacity(body.count + id.utf8.count + 10)
        out.append(contentsOf: Array(#"{"id":"#.utf8))
        JSONWriter.appendQuoted(id, to: &out)
        let rest = body[(open + 1)...]
        let isEmpty = rest.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) == UInt8(ascii: "}")
        if !isEmpty { out.append(UInt8(ascii: ",")) }
        out.append(contentsOf: rest)
        return out
    }

    private static func readCustomer(_ json: JSONValue, into order: inout OrderFields, _ v: inout Validator) {
        guard let customer = v.object(json, "customer") else { return }
        v.onlyKeys(customer, customerKeys, in: "customer")
        order.customerID = v.string(customer, "id", path: "customer.id", max: 128) ?? ""
        order.customerTier = v.optionalString(customer, "tier", path: "customer.tier", max: 32) ?? ""
        for key in ["email", "name", "phone"] { _ = v.optionalString(customer, key, path: "customer.\(key)", max: 256) }
    }

    private static func readItems(_ json: JSONValue, into order: inout OrderFields, _ v: inout Validator) {
        guard let itemsValue = json["items"] else { return v.problem("items", "required, at least one line") }
        guard let items = itemsValue.arrayValue, !items.isEmpty else { return v.problem("items", "expected a non-empty array of lines") }
        guard items.count <= maxItems else { return v.problem("items", "\(items.count) lines; at most \(maxItems) per order") }
        var total: Int64 = 0
        for (index, item) in items.enumerated() {
            let path = "items[\(index)]"
            guard let members = item.objectValue else { v.problem(path, "expected an object"); continue }
            for member in members where !itemKeys.contains(member.key) {
                v.problem("\(path).\(member.key)", "unknown field (allowed: \(itemKeys.joined(separator: ", ")))")
            }
            let sku = v.string(item, "sku", path: "\(path).sku", max: 64) ?? ""
            _ = v.optionalString(item, "name", path: "\(path).name", max: 256)
            let quantity = v.integer(item, "quantity", path: "\(path).quantity", range: 1...100_000) ?? 0
            let price = v.money(item["unit_price"], path: "\(path).unit_price") ?? 0
            let (line, overflow) = quantity.multipliedReportingOverflow(by: price)
            if overflow || total.addingReportingOverflow(line).overflow { v.problem("\(path).unit_price", "order total is too large"); continue }
            total += line
            order.items.append(ItemFields(
                sku: sku, category: v.optionalString(item, "category", path: "\(path).category", max: 128) ?? "",
                quantity: quantity, unitPriceMinor: price,
                presale: v.optionalBool(item, "presale", path: "\(path).presale") ?? false,
                noDiscount: v.optionalBool(item, "no_discount", path: "\(path).no_discount") ?? false, gift: false))
        }
        order.itemsTotalMinor = total
    }

    private static func readShipping(_ json: JSONValue, into order: inout OrderFields, _ v: inout Validator) {
        if let shipTo = v.object(json, "ship_to") {
            v.onlyKeys(shipTo, shipToKeys, in: "ship_to")
            for key in ["name", "line1", "line2", "city", "phone"] { _ = v.optionalString(shipTo, key, path: "ship_to.\(key)", max: 256) }
            order.shipCountry = v.string(shipTo, "country", path: "ship_to.country", max: 2) ?? ""
            if !order.shipCountry.isEmpty && !(order.shipCountry.utf8.count == 2 && order.shipCountry.utf8.allSatisfy { (65...90).contains($0) }) {
                v.problem("ship_to.country", "expected an ISO 3166-1 alpha-2 code such as \"BR\"")
            }
            order.shipRegion = v.optionalString(shipTo, "region", path: "ship_to.region", max: 64) ?? ""
            order.shipPostal = v.optionalString(shipTo, "postal_code", path: "ship_to.postal_code", max: 32) ?? ""
        }
        guard let shipping = json["shipping"] else { return }
        guard shipping.objectValue != nil else { return v.problem("shipping", "expected an object (fee, promised_days, service; all optional)") }
        v.onlyKeys(shipping, shippingKeys, in: "shipping")
        _ = v.optionalString(shipping, "service", path: "shipping.service", max: 64)
        if let fee = shipping["fee"] { order.shippingMinor = v.money(fee, path: "shipping.fee") ?? 0 }
        if shipping["promised_days"] != nil {
            order.promisedDays = v.integer(shipping, "promised_days", path: "shipping.promised_days", range: 0...365) ?? -1
        }
    }
}

/// Collects field problems while reading a JSON order.
struct Validator {
    private(set) var problems: [FieldProblem] = []

    mutating func problem(_ field: String, _ message: String) { problems.append(FieldProblem(field: field, message: message)) }

    /// Refuses keys outside `allowed`, each named by its path.
    mutating func onlyKeys(_ json: JSONValue, _ allowed: [String], in path: String) {
        for member in json.objectValue ?? [] where !allowed.contains(member.key) {
            problem("\(path).\(member.key)", "unknown field (allowed: \(allowed.joined(separator: ", ")))")
        }
    }

    mutating func object(_ json: JSONValue, _ key: String) -> JSONValue? {
        guard let value = json[key] else { problem(key, "required"); return nil }
        guard value.objectValue != nil else { problem(key, "expected an object, got \(value.typeName)"); return nil }
        return value
    }

    mutating func string(_ json: JSONValue, _ key: String, path: String? = nil, max: Int) -> String? {
        guard let value = json[key] else { problem(path ?? key, "required"); return nil }
        return checkedString(value, path: path ?? key, max: max)
    }

    mutating func optionalString(_ json: JSONValue, _ key: String, path: String? = nil, max: Int) -> String? {
        guard let value = json[key], value != .null else { return nil }
        return checkedString(value, path: path ?? key, max: max)
    }

    private mutating func checkedString(_ value: JSONValue, path: String, max: Int) -> String? {
        guard let text = value.stringValue else { problem(path, "expected a string, got \(value.typeName)"); return nil }
        guard !text.isEmpty else { problem(path, "must not be empty"); return nil }
        guard text.utf8.count <= max else { problem(path, "longer than \(max) bytes"); return nil }
        return text
    }

    mutating func integer(_ json: JSONValue, _ key: String, path: String, range: ClosedRange<Int64>) -> Int64? {
        guard let value = json[key] else { problem(path, "required"); return nil }
        guard let number = value.intValue else { problem(path, "expected an integer, got \(value.typeName == "number" ? "a fraction" : value.typeName)"); return nil }
        guard range.contains(number) else { problem(path, "\(number) is outside \(range.lowerBound)...\(range.upperBound)"); return nil }
        return number
    }

    mutating func optionalBool(_ json: JSONValue, _ key: String, path: String) -> Bool? {
        guard let value = json[key], value != .null else { return nil }
        guard let flag = value.boolValue else { problem(path, "expected true or false, got \(value.typeName)"); return nil }
        return flag
    }

    /// An amount as "129.90" or 129.9: at most two decimals, not negative, in minor units.
    mutating func money(_ value: JSONValue?, path: String) -> Int64? {
        guard let value else { problem(path, "required, an amount such as \"129.90\""); return nil }
        switch value {
        case .string(let text), .number(let text):
            if let minor = Money.minorUnits(text) { return minor }
            problem(path, "'\(text)' is not a non-negative amount with at most two decimals")
        default:
            problem(path, "expected an amount such as \"129.90\", got \(value.typeName)")
        }
        return nil
    }
}

/// Amounts as orders carry them: the one parser validation and the dispatch replay share.
enum Money {
    /// "129.90", "129.9" or "129" → 12990; nil unless a non-negative amount with at most two decimals.
    static func minorUnits(_ text: String) -> Int64? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, !parts[0].isEmpty, parts[0].utf8.allSatisfy({ (48...57).contains($0) }),
            let whole = Int64(parts[0]), whole < 1_000_000_000_000,
            parts.count == 1 || (1...2).contains(parts[1].count) && parts[1].allSatisfy(\.isASCII) && parts[1].allSatisfy(\.isNumber)
        else { return nil }
        let fraction = parts.count == 2 ? Int64(parts[1].count == 1 ? parts[1] + "0" : String(parts[1])) ?? 0 : 0
        return whole * 100 + fraction
    }

    /// An amount field as recorded (a string or a JSON number).
    static func minorUnits(_ value: JSONValue?) -> Int64? {
        switch value {
        case .string(let text)?, .number(let text)?: return minorUnits(text)
        default: return nil
        }
    }
}
