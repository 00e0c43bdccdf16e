import HubJSON

/// A value during rule evaluation, with JSON Logic's (JavaScript's) coercions.
public enum RuleValue: Sendable {
    case null
    case bool(Bool)
    case number(Num)
    case string(String)
    case array([RuleValue])
    case object([(key: String, value: RuleValue)])

    public init(_ json: JSONValue) {
        switch json {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .number(let text): self = Num.parse(text).map(RuleValue.number) ?? .null
        case .string(let s): self = .string(s)
        case .array(let a): self = .array(a.map(RuleValue.init))
        case .object(let members): self = .object(members.map { ($0.key, RuleValue($0.value)) })
        }
    }

    public static func int(_ value: Int64) -> RuleValue { .number(Num(value)) }

    public var json: JSONValue {
        switch self {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .number(let n):
            if case .real(let d) = n, !d.isFinite { return .null }
            return .number(n.description)
        case .string(let s): return .string(s)
        case .array(let a): return .array(a.map(\.json))
        case .object(let members): return .object(members.map { ($0.key, $0.value.json) })
        }
    }

    /// JSON Logic truthiness: false, null, 0, NaN, "" and [] are false; everything else true.
    public var truthy: Bool {
        switch self {
        case .null: return false
        case .bool(let b): return b
        case .number(let n):
            switch n {
            case .exact(let m, _): return m != 0
            case .real(let d): return d != 0 && !d.isNaN
            }
        case .string(let s): return !s.isEmpty
        case .array(let a): return !a.isEmpty
        case .object: return true
        }
    }

    public var isNull: Bool { if case .null = self { return true } else { return false } }
    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var arrayValue: [RuleValue]? { if case .array(let a) = self { return a } else { return nil } }
    public var numberValue: Num? { if case .number(let n) = self { return n } else { return nil } }

    public subscript(key: String) -> RuleValue? {
        guard case .object(let members) = self else { return nil }
        for member in members where member.key == key { return member.value }
        return nil
    }

    /// JavaScript's Number(x): "" and null are 0, true is 1, unparseable text is NaN.
    public var toNumber: Num {
        switch self {
        case .null: return Num(0)
        case .bool(let b): return Num(b ? 1 : 0)
        case .number(let n): return n
        case .string(let s):
            if let fast = Num.parse(s) { return fast }
            let trimmed = s.trimmingWhitespace
            if trimmed.isEmpty { return Num(0) }
            return Num.parse(trimmed) ?? .real(.nan)
        case .array(let a):
            if a.isEmpty { return Num(0) }
            // JavaScript: Number([x]) is Number(String(x)), so [true] is NaN and [5] is 5.
            if a.count == 1 { return RuleValue.string(a[0].isNull ? "" : a[0].toText).toNumber }
            return .real(.nan)
        case .object: return .real(.nan)
        }
    }

    /// JavaScript's parseFloat(x), used by the arithmetic operators: leading number text.
    public var parseFloat: Num {
        switch self {
        case .number(let n): return n
        case .string(let s) where Num.parse(s) != nil: return Num.parse(s)!
        case .string(let s):
            let trimmed = s.trimmingWhitespace
            var end = trimmed.startIndex
            var seenDot = false, seenExp = false
            for index in trimmed.indices {
                let c = trimmed[index]
                if c.isASCII && c.isNumber { end = trimmed.index(after: index); continue }
                if (c == "-" || c == "+") && (index == trimmed.startIndex || "eE".contains(trimmed[trimmed.index(before: index)])) { continue }
                if c == "." && !seenDot && !seenExp { seenDot = true; continue }
                if (c == "e" || c == "E") && !seenExp && end != trimmed.startIndex { seenExp = true; continue }
                break
            }
            return Num.parse(String(trimmed[..<end])) ?? .real(.nan)
        case .array(let a) where !a.isEmpty: return a[0].parseFloat
        default: return .real(.nan)
        }
    }

    /// JavaScript's String(x): numbers as JS prints them, arrays joined with ",".
    public var toText: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return n.description
        case .string(let s): return s
        case .array(let a): return a.map { $0.isNull ? "" : $0.toText }.joined(separator: ",")
        case .object: return "[object Object]"
        }
    }

    /// Strict equality (===): same type and value; arrays and objects only by identity, so never.
    public static func strictEquals(_ a: RuleValue, _ b: RuleValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.number(let x), .number(let y)): return Num.compare(x, y) == 0
        case (.string(let x), .string(let y)): return x == y
        default: return false
        }
    }

    /// Loose equality (==), JavaScript's abstract equality on JSON values.
    public static func looseEquals(_ a: RuleValue, _ b: RuleValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.null, _), (_, .null): return false
        case (.number, .number), (.string, .string), (.bool, .bool): return strictEquals(a, b)
        case (.number(let x), .string), (.number(let x), .bool): return Num.compare(x, b.toNumber) == 0
        case (.string, .number(let y)), (.bool, .number(let y)): return Num.compare(a.toNumber, y) == 0
        case (.bool, _): return looseEquals(.number(a.toNumber), b)
        case (_, .bool): return looseEquals(a, .number(b.toNumber))
        case (.array, .array), (.object, .object), (.array, .object), (.object, .array): return false
        case (.array, _), (.object, _): return looseEquals(.string(a.toText), b)
        case (_, .array), (_, .object): return looseEquals(a, .string(b.toText))
        }
    }

    /// JavaScript's relational comparison: text with text by code units, otherwise as numbers.
    /// nil means "not comparable" (NaN), which makes <, <=, >, >= false.
    public static func compare(_ a: RuleValue, _ b: RuleValue) -> Int? {
        let pa = a.primitive, pb = b.primitive
        if case .string(let x) = pa, case .string(let y) = pb {
            return x == y ? 0 : (x.utf16.lexicographicallyPrecedes(y.utf16) ? -1 : 1)
        }
        return Num.compare(pa.toNumber, pb.toNumber)
    }

    private var primitive: RuleValue {
        switch self {
        case .array, .object: return .string(toText)
        default: return self
        }
    }
}

extension String {
    var trimmingWhitespace: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(scalars[first...last])
    }
}
