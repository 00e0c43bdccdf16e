import HubJSON
import HubPluginKit

/// One rule of the first engine. The full rule language (JsonLogic, decision tables,
/// budgets, velocity) is its own issue; these two shapes prove the path end to end.
enum Rule: Sendable {
    /// Spend at least `minimumMinor` on eligible lines, get `discountMinor` off.
    case thresholdDiscount(id: String, minimumMinor: Int64, discountMinor: Int64, excludedSKUs: Set<String>, excludePresale: Bool)
    /// Orders whose total is above `limitMinor` go on hold for a person to look at.
    case holdAbove(id: String, limitMinor: Int64, holdType: String, reason: String)

    var id: String {
        switch self {
        case .thresholdDiscount(let id, _, _, _, _), .holdAbove(let id, _, _, _): return id
        }
    }
}

/// A versioned set of rules read from one file.
struct RuleFile: Sendable {
    let path: String
    let version: String
    let rules: [Rule]

    /// Reads and validates a rules file; every error names the file and the rule.
    static func load(path: String, contents: [UInt8]) throws(PluginError) -> RuleFile {
        let document: JSONValue
        do {
            document = try JSONParser.parse(contents)
        } catch {
            throw .invalid("\(path):\(error.line):\(error.column): \(error.message)")
        }
        guard let members = document.objectValue else { throw .invalid("\(path):1:1: expected an object with 'version' and 'rules'") }
        for member in members where !["version", "rules", "description"].contains(member.key) {
            throw .invalid("\(path): unknown key '\(member.key)' (known: version, rules, description)")
        }
        guard let version = document["version"]?.stringValue, !version.isEmpty else {
            throw .invalid("\(path): 'version' is required, a string such as \"2026-11-01.1\"")
        }
        guard let list = document["rules"]?.arrayValue else { throw .invalid("\(path): 'rules' must be an array") }
        var rules: [Rule] = []
        var seen: Set<String> = []
        for (index, entry) in list.enumerated() {
            let rule = try parseRule(entry, where: "\(path): rules[\(index)]")
            guard seen.insert(rule.id).inserted else { throw .invalid("\(path): rules[\(index)]: duplicate id '\(rule.id)'") }
            rules.append(rule)
        }
        return RuleFile(path: path, version: version, rules: rules)
    }

    private static func parseRule(_ entry: JSONValue, where place: String) throws(PluginError) -> Rule {
        guard let id = entry["id"]?.stringValue, !id.isEmpty else { throw .invalid("\(place): 'id' is required") }
        let at = "\(place) (id '\(id)')"
        switch entry["type"]?.stringValue {
        case "threshold_discount":
            try allowOnly(entry, ["id", "type", "description", "min_total", "discount", "exclude_skus", "exclude_presale"], at)
            let skus = try (entry["exclude_skus"]?.arrayValue ?? []).map { value throws(PluginError) -> String in
                guard let sku = value.stringValue else { throw .invalid("\(at): exclude_skus: every entry must be a string") }
                return sku
            }
            return .thresholdDiscount(
                id: id, minimumMinor: try money(entry["min_total"], "min_total", at),
                discountMinor: try money(entry["discount"], "discount", at), excludedSKUs: Set(skus),
                excludePresale: entry["exclude_presale"]?.boolValue ?? true)
        case "hold_above":
            try allowOnly(entry, ["id", "type", "description", "max_total", "hold_type", "reason"], at)
            return .holdAbove(
                id: id, limitMinor: try money(entry["max_total"], "max_total", at),
                holdType: entry["hold_type"]?.stringValue ?? "manual_review",
                reason: entry["reason"]?.stringValue ?? "order total above limit")
        case let other:
            throw .invalid("\(at): type '\(other ?? "missing")' is not one of threshold_discount, hold_above")
        }
    }

    private static func allowOnly(_ entry: JSONValue, _ keys: [String], _ at: String) throws(PluginError) {
        for member in entry.objectValue ?? [] where !keys.contains(member.key) {
            throw .invalid("\(at): unknown key '\(member.key)' (known: \(keys.joined(separator: ", ")))")
        }
    }

    /// "300.00" or 300 -> 30000 minor units; more than two decimals is an error.
    static func money(_ value: JSONValue?, _ field: String, _ at: String) throws(PluginError) -> Int64 {
        let text: String
        switch value {
        case .number(let n)?: text = n
        case .string(let s)?: text = s
        default: throw .invalid("\(at): \(field) is required, an amount such as \"300.00\"")
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = Int64(parts[0]), whole >= 0,
            parts.count == 1 || (parts[1].count <= 2 && parts[1].allSatisfy(\.isNumber))
        else { throw .invalid("\(at): \(field) '\(text)' is not an amount with at most two decimals") }
        let fraction = parts.count == 2 ? Int64(parts[1].count == 1 ? parts[1] + "0" : String(parts[1]))! : 0
        return whole * 100 + fraction
    }
}
