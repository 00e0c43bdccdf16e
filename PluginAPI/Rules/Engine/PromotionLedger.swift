import Synchronization

/// Keeps promotion limits exact: a reservation either fits every limit and is counted, or
/// is refused, atomically, however many orders race for the last unit.
public protocol PromotionLedger: Sendable {
    func reserve(_ request: LedgerRequest) -> LedgerDecision
    /// What a promotion has used so far: (orders, discount in minor units).
    func usage(ruleset: String, rule: String) -> (redemptions: Int64, givenMinor: Int64)
}

public struct LedgerRequest: Sendable {
    public let ruleset: String
    public let rule: String
    public let customer: String
    public let discountMinor: Int64
    public let limits: PromotionSpec.Limits
}

public enum LedgerDecision: Sendable, Equatable {
    case granted
    /// A limit would be passed; the reason names it ("first 1000 buyers: all 1000 taken").
    case refused(String)
    /// The ledger could not answer (storage down): the engine holds the order.
    case failed(String)
}

/// The limit check itself, shared by every ledger: given current usage, may one more pass?
public enum LimitCheck {
    public static func refusal(
        _ request: LedgerRequest, redemptions: Int64, givenMinor: Int64, customerRedemptions: Int64
    ) -> String? {
        let limits = request.limits
        if let max = limits.redemptions, redemptions >= max { return "limit of \(max) orders reached" }
        if let max = limits.perCustomer, customerRedemptions >= max {
            return "customer already used it \(customerRedemptions) time\(customerRedemptions == 1 ? "" : "s") (limit \(max))"
        }
        if let budget = limits.budgetMinor, givenMinor + request.discountMinor > budget {
            return "budget \(MoneyText.format(budget)) would be exceeded (\(MoneyText.format(givenMinor)) given)"
        }
        return nil
    }
}

/// An in-memory ledger: for the sandbox, `orderhub rules simulate`, benchmarks and tests.
public final class MemoryLedger: PromotionLedger {
    private struct Usage { var redemptions: Int64 = 0; var given: Int64 = 0; var customers: [String: Int64] = [:] }
    private let state = Mutex<[String: Usage]>([:])

    public init() {}

    public func reserve(_ request: LedgerRequest) -> LedgerDecision {
        state.withLock { all in
            let key = request.ruleset + "/" + request.rule
            // Mutated in place: copying Usage out and back would copy its customers table.
            return Self.reserve(request, in: &all[key, default: Usage()])
        }
    }

    private static func reserve(_ request: LedgerRequest, in usage: inout Usage) -> LedgerDecision {
        if let reason = LimitCheck.refusal(request, redemptions: usage.redemptions, givenMinor: usage.given,
                                           customerRedemptions: usage.customers[request.customer] ?? 0) {
            return .refused(reason)
        }
        usage.redemptions += 1
        usage.given += request.discountMinor
        if request.limits.perCustomer != nil { usage.customers[request.customer, default: 0] += 1 }
        return .granted
    }

    public func usage(ruleset: String, rule: String) -> (redemptions: Int64, givenMinor: Int64) {
        state.withLock { all in
            let usage = all[ruleset + "/" + rule] ?? Usage()
            return (usage.redemptions, usage.given)
        }
    }
}

/// Minor units as the amount people read ("50.00").
public enum MoneyText {
    public static func format(_ minor: Int64) -> String {
        let sign = minor < 0 ? "-" : ""
        let m = minor.magnitude
        let cents = m % 100
        return "\(sign)\(m / 100).\(cents < 10 ? "0" : "")\(cents)"
    }
}
