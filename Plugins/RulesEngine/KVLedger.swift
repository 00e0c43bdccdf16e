import HubPluginKit
import HubRules
import Synchronization

/// Promotion limits kept in the host's durable KV (the state bus), so they survive restarts
/// and hold across hub nodes that share a bus: every update is a compare-and-set, retried
/// when another writer got there first. A local lock keeps this node's racers in line so
/// they do not spin on CAS conflicts with each other.
final class KVLedger: PromotionLedger {
    private let host: HostServices
    private let local = Mutex<Void>(())

    init(host: HostServices) { self.host = host }

    private struct Usage { var redemptions: Int64; var given: Int64; var revision: UInt64 }

    private func usage(_ key: String) throws(PluginError) -> Usage {
        guard let (value, revision) = try host.kvGet(key) else { return Usage(redemptions: 0, given: 0, revision: 0) }
        let document = try? JSONParser.parse(value)
        return Usage(redemptions: document?["redemptions"]?.intValue ?? 0, given: document?["given_minor"]?.intValue ?? 0, revision: revision)
    }

    private func put(_ key: String, _ usage: Usage, redemptions: Int64, given: Int64) throws(PluginError) -> Bool {
        var writer = JSONWriter(capacity: 64)
        writer.object { o in
            o.field("redemptions", redemptions)
            o.field("given_minor", given)
        }
        do {
            _ = try host.kvPut(key, writer.bytes, expectedRevision: usage.revision)
            return true
        } catch where error.status == 9 {  // HUB_CONFLICT: someone else wrote first
            return false
        }
    }

    func reserve(_ request: LedgerRequest) -> LedgerDecision {
        local.withLock { _ in
            let key = "promo/\(request.ruleset)/\(request.rule)"
            let customerKey = key + "/customer/" + request.customer
            do throws(PluginError) {
                for _ in 0..<50 {
                    let total = try usage(key)
                    let customer = request.limits.perCustomer == nil ? Usage(redemptions: 0, given: 0, revision: 0) : try usage(customerKey)
                    if let reason = LimitCheck.refusal(request, redemptions: total.redemptions, givenMinor: total.given,
                                                       customerRedemptions: customer.redemptions) {
                        return .refused(reason)
                    }
                    guard try put(key, total, redemptions: total.redemptions + 1, given: total.given + request.discountMinor) else { continue }
                    if request.limits.perCustomer != nil {
                        let fresh = try usage(customerKey)
                        var counted = false
                        if fresh.revision == customer.revision {
                            counted = try put(customerKey, fresh, redemptions: fresh.redemptions + 1, given: fresh.given + request.discountMinor)
                        }
                        if !counted {
                            try undo(key, discount: request.discountMinor)
                            continue
                        }
                    }
                    return .granted
                }
                return .failed("too many concurrent writers on \(key)")
            } catch {
                return .failed(error.message)
            }
        }
    }

    /// Gives back a reservation whose per-customer half lost a race (then the whole is retried).
    private func undo(_ key: String, discount: Int64) throws(PluginError) {
        for _ in 0..<50 {
            let total = try usage(key)
            if try put(key, total, redemptions: total.redemptions - 1, given: total.given - discount) { return }
        }
    }

    func usage(ruleset: String, rule: String) -> (redemptions: Int64, givenMinor: Int64) {
        guard let total = try? usage("promo/\(ruleset)/\(rule)") else { return (0, 0) }
        return (total.redemptions, total.given)
    }
}
