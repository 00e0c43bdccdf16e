/// A rule number: an exact decimal (mantissa × 10^-scale) while it can be one, a binary
/// double only when it must (irrational division, overflow, exponents). Money stays exact:
/// 100.10 + 199.90 is exactly 300, so "spend ≥ 300" never misses by 0.00000000000006.
public enum Num: Sendable, CustomStringConvertible {
    case exact(Int64, scale: Int)
    case real(Double)

    static let maxScale = 12
    static let powers: [Int64] = (0...18).map { p in (0..<p).reduce(Int64(1)) { acc, _ in acc * 10 } }

    public init(_ value: Int64) { self = .exact(value, scale: 0) }

    /// JSON/decimal text ("300.00", "-1.5", "2e3"): exact when it has no exponent and fits.
    public static func parse(_ text: String) -> Num? {
        var mantissa: Int64 = 0
        var scale = 0
        var negative = false
        var seenDigit = false
        var seenDot = false
        var exact = true
        var index = 0
        for byte in text.utf8 {
            defer { index += 1 }
            switch byte {
            case UInt8(ascii: "-") where index == 0: negative = true
            case UInt8(ascii: "+") where index == 0: break
            case UInt8(ascii: "."): if seenDot { return nil } else { seenDot = true }
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                seenDigit = true
                guard exact else { continue }
                let (m1, o1) = mantissa.multipliedReportingOverflow(by: 10)
                let (m2, o2) = m1.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
                if o1 || o2 || (seenDot && scale >= maxScale) { exact = false } else {
                    mantissa = m2
                    if seenDot { scale += 1 }
                }
            default: exact = false
            }
        }
        if exact && seenDigit { return Num.exact(negative ? -mantissa : mantissa, scale: scale).normalized }
        // Exponent forms ("2e3"); never "inf" or "nan", which JavaScript reads as NaN.
        guard seenDigit, let double = Double(text), double.isFinite else { return nil }
        return .real(double)
    }

    public var double: Double {
        switch self {
        case .exact(let m, let s): return Double(m) / Double(Self.powers[s])
        case .real(let d): return d
        }
    }

    public var isNaN: Bool { if case .real(let d) = self { return d.isNaN } else { return false } }

    /// JavaScript truthiness of a number: 0 and NaN are false.
    public var isTruthy: Bool {
        switch self {
        case .exact(let m, _): return m != 0
        case .real(let d): return d != 0 && !d.isNaN
        }
    }

    /// Integer value when the number is whole (array indexes, substr positions).
    public var integer: Int? {
        switch self {
        case .exact(let m, let s): return m % Self.powers[s] == 0 ? Int(m / Self.powers[s]) : nil
        case .real(let d): return d.isFinite && d == d.rounded() && abs(d) < 1e15 ? Int(d) : nil
        }
    }

    /// Minor units (cents) of an amount, rounding half away from zero; nil if not finite.
    public func minorUnits(decimals: Int = 2) -> Int64? {
        switch self {
        case .exact(let m, let s):
            if s <= decimals {
                let (v, o) = m.multipliedReportingOverflow(by: Self.powers[decimals - s])
                return o ? nil : v
            }
            let divisor = Self.powers[s - decimals]
            let (q, r) = m.quotientAndRemainder(dividingBy: divisor)
            if abs(r) * 2 >= divisor { return q + (m < 0 ? -1 : 1) }
            return q
        case .real(let d):
            let scaled = (d * Double(Self.powers[decimals])).rounded(.toNearestOrAwayFromZero)
            return scaled.isFinite && abs(scaled) < 9e18 ? Int64(scaled) : nil
        }
    }

    var normalized: Num {
        guard case .exact(var m, var s) = self else { return self }
        while s > 0 && m % 10 == 0 { m /= 10; s -= 1 }
        return .exact(m, scale: s)
    }

    private static func aligned(_ a: Num, _ b: Num) -> (Int64, Int64, Int)? {
        guard case .exact(let ma, let sa) = a, case .exact(let mb, let sb) = b else { return nil }
        if sa == sb { return (ma, mb, sa) }
        if sa < sb {
            let (v, o) = ma.multipliedReportingOverflow(by: powers[sb - sa])
            return o ? nil : (v, mb, sb)
        }
        let (v, o) = mb.multipliedReportingOverflow(by: powers[sa - sb])
        return o ? nil : (ma, v, sa)
    }

    public static func + (a: Num, b: Num) -> Num {
        if let (x, y, s) = aligned(a, b) {
            // Not normalised: the scale stays that of the operands (money stays at 2).
            let (v, o) = x.addingReportingOverflow(y)
            if !o { return Num.exact(v, scale: s) }
        }
        return .real(a.double + b.double)
    }

    public static func - (a: Num, b: Num) -> Num { a + b.negated }

    public var negated: Num {
        switch self {
        case .exact(let m, let s): return m == .min ? .real(-double) : .exact(-m, scale: s)
        case .real(let d): return .real(-d)
        }
    }

    public static func * (a: Num, b: Num) -> Num {
        if case .exact(let ma, let sa) = a, case .exact(let mb, let sb) = b, sa + sb <= 18 {
            let (v, o) = ma.multipliedReportingOverflow(by: mb)
            if !o {
                let product = Num.exact(v, scale: sa + sb).normalized
                if case .exact(_, let s) = product, s <= maxScale { return product }
            }
        }
        return .real(a.double * b.double)
    }

    public static func / (a: Num, b: Num) -> Num {
        if case .exact(let ma, let sa) = a, case .exact(let mb, let sb) = b, mb != 0, !(ma == .min && mb == -1) {
            // Exact when the quotient terminates within maxScale decimals (300 / 4 = 75, 1 / 8).
            for extra in 0...maxScale {
                let (num, o) = ma.multipliedReportingOverflow(by: powers[extra])
                if o { break }
                let (q, r) = num.quotientAndRemainder(dividingBy: mb)
                if r == 0 {
                    let scale = sa - sb + extra
                    if scale >= 0 && scale <= maxScale { return Num.exact(q, scale: scale).normalized }
                    if scale < 0 {
                        let (v, o2) = q.multipliedReportingOverflow(by: powers[min(-scale, 18)])
                        if !o2 { return .exact(v, scale: 0) }
                    }
                    break
                }
            }
        }
        return .real(a.double / b.double)
    }

    public static func % (a: Num, b: Num) -> Num {
        if let (x, y, s) = aligned(a, b), y != 0, !(x == .min && y == -1) { return Num.exact(x % y, scale: s).normalized }
        return .real(a.double.truncatingRemainder(dividingBy: b.double))
    }

    /// -1, 0, 1; nil when either is NaN (every comparison with NaN is false, as in JSON Logic).
    public static func compare(_ a: Num, _ b: Num) -> Int? {
        if let (x, y, _) = aligned(a, b) { return x < y ? -1 : (x == y ? 0 : 1) }
        let (x, y) = (a.double, b.double)
        if x.isNaN || y.isNaN { return nil }
        return x < y ? -1 : (x == y ? 0 : 1)
    }

    /// The shortest text JavaScript would print for this number (1, 1.5, 300, 0.1).
    public var description: String {
        switch normalized {
        case .exact(let m, let s):
            if s == 0 { return String(m) }
            let magnitude = m.magnitude
            let divisor = UInt64(Self.powers[s])
            var fraction = String(magnitude % divisor)
            fraction = String(repeating: "0", count: s - fraction.count) + fraction
            return (m < 0 ? "-" : "") + String(magnitude / divisor) + "." + fraction
        case .real(let d):
            if d.isNaN { return "NaN" }
            if d.isInfinite { return d > 0 ? "Infinity" : "-Infinity" }
            if d == d.rounded() && abs(d) < 1e15 { return String(Int64(d)) }
            return String(d)
        }
    }
}
