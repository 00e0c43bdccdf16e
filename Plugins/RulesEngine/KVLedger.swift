import HubPluginKit
import HubRules
import Synchronization

/// Promotion limits that hold exactly across concurrent orders, restarts and hub nodes, at
/// the cost of one durable write per block of orders rather than per order.
///
/// The host's KV (the state bus) holds, per promotion, how much of each limit has been
/// *claimed* by nodes. A node claims a block (a lease: some redemptions, some budget) with a
/// compare-and-set and hands it out from memory under a lock. Claims never pass a limit, and
/// a node never gives more than it claimed, so no order is ever over the limit. A crash loses
/// the unused rest of a block (the promotion ends slightly short, never over); a clean stop
/// gives it back. Per-customer counts are written per order (they cannot be leased).
final class KVLedger: PromotionLedger {
    private struct Lease {
        var redemptions: Int64 = 0
        var budgetMinor: Int64 = 0
        /// Given since the last flush (what /v1/promotions/usage adds to the stored figures).
        var givenRedemptions: Int64 = 0
        var givenMinor: Int64 = 0
        /// When the KV last said a limit is used up: re-asked at most once a second.
        var exhaustedAt: UInt64?
        var refusal = ""
        /// The limits the lease was claimed under: a version with other limits starts afresh.
        var limits: PromotionSpec.Limits?
    }
    private struct Stored {
        var claimedRedemptions: Int64 = 0
        var claimedMinor: Int64 = 0
        var givenRedemptions: Int64 = 0
        var givenMinor: Int64 = 0
        var revision: UInt64 = 0
    }

    private let host: HostServices
    /// One lock per promotion: a slow key-value round trip for one promotion (a block claim,
    /// a per-customer count) never holds up orders for the others.
    private final class Slot: Sendable {
        let lease = Mutex<Lease>(Lease())
    }
    private let slots = Mutex<[String: Slot]>([:])

    private func slot(_ key: String) -> Slot {
        slots.withLock { all in
            if let known = all[key] { return known }
            let made = Slot()
            all[key] = made
            return made
        }
    }
    /// How many blocks a limit is cut into: 1/blocks of it is claimed at a time.
    private let blocks: Int64

    init(host: HostServices, blocks: Int64 = 50) {
        self.host = host
        self.blocks = blocks
    }

    func reserve(_ request: LedgerRequest) -> LedgerDecision {
        let key = "promo/\(request.ruleset)/\(request.rule)"
        let slot = slot(key)
        let limits = request.limits
        // 1. Take a unit (and the discount) out of this node's block, under the promotion's lock.
        let refusal = slot.lease.withLock { lease -> LedgerDecision? in
            do throws(PluginError) {
                if lease.limits != limits {
                    // A published version changed the limits: give the unused rest back and
                    // claim again under the new ones, so a lowered limit holds at once.
                    if lease.limits != nil { try giveBack(key, &lease) }
                    lease.limits = limits
                    lease.exhaustedAt = nil
                }
                let needRedemption = limits.redemptions != nil && lease.redemptions < 1
                let needBudget = limits.budgetMinor != nil && lease.budgetMinor < request.discountMinor
                if needRedemption || needBudget {
                    if let at = lease.exhaustedAt, host.monotonicNanos() - at < 1_000_000_000 {
                        return .refused(lease.refusal)
                    }
                    let stored = try claim(key, request, lease: &lease)
                    if (limits.redemptions != nil && lease.redemptions < 1) || (limits.budgetMinor != nil && lease.budgetMinor < request.discountMinor) {
                        lease.exhaustedAt = host.monotonicNanos()
                        lease.refusal = Self.reason(request, stored: stored, lease: lease)
                        return .refused(lease.refusal)
                    }
                    lease.exhaustedAt = nil
                }
                if limits.redemptions != nil { lease.redemptions -= 1 }
                if limits.budgetMinor != nil { lease.budgetMinor -= request.discountMinor }
                return nil
            } catch {
                return .failed(error.message)
            }
        }
        if let refusal { return refusal }
        // 2. The customer's count, a durable write, outside the lock: other orders for this
        // promotion go on meanwhile. The unit is set aside, so nothing can pass the limit.
        // An order without a customer id is its own customer: it cannot use a rule twice.
        if let perCustomer = limits.perCustomer, !request.customer.hasPrefix("order:") {
            var decision: LedgerDecision?
            do throws(PluginError) {
                if try !countCustomer(key + "/customer/" + request.customer, limit: perCustomer) {
                    decision = .refused("customer already used it \(perCustomer) time\(perCustomer == 1 ? "" : "s") (limit \(perCustomer))")
                }
            } catch {
                decision = .failed(error.message)
            }
            if let decision {
                // Put the unit back, unless a new version changed the limits meanwhile (then it
                // stays claimed and unused: short, never over).
                slot.lease.withLock { lease in
                    guard lease.limits == limits else { return }
                    if limits.redemptions != nil { lease.redemptions += 1 }
                    if limits.budgetMinor != nil { lease.budgetMinor += request.discountMinor }
                }
                return decision
            }
        }
        slot.lease.withLock { lease in
            lease.givenRedemptions += 1
            lease.givenMinor += request.discountMinor
        }
        return .granted
    }

    /// Returns the unused rest of a lease to the KV (compare-and-set, retried on a conflict).
    private func giveBack(_ key: String, _ lease: inout Lease) throws(PluginError) {
        guard lease.redemptions > 0 || lease.budgetMinor > 0 else { return }
        for _ in 0..<50 {
            var stored = try read(key)
            stored.claimedRedemptions -= lease.redemptions
            stored.claimedMinor -= lease.budgetMinor
            if try write(key, stored) {
                lease.redemptions = 0
                lease.budgetMinor = 0
                return
            }
        }
        throw .again("too many concurrent writers on \(key)")
    }

    /// Claims the next block from the KV (compare-and-set, retried on a conflict).
    private func claim(_ key: String, _ request: LedgerRequest, lease: inout Lease) throws(PluginError) -> Stored {
        for _ in 0..<50 {
            var stored = try read(key)
            var grabRedemptions: Int64 = 0, grabMinor: Int64 = 0
            if let max = request.limits.redemptions, lease.redemptions < 1 {
                grabRedemptions = min(max - stored.claimedRedemptions, Swift.max(1, max / blocks))
            }
            if let budget = request.limits.budgetMinor, lease.budgetMinor < request.discountMinor {
                let wanted = Swift.max(request.discountMinor - lease.budgetMinor, budget / blocks)
                grabMinor = min(budget - stored.claimedMinor, wanted)
            }
            grabRedemptions = Swift.max(0, grabRedemptions)
            grabMinor = Swift.max(0, grabMinor)
            if grabRedemptions == 0 && grabMinor == 0 { return stored }
            stored.claimedRedemptions += grabRedemptions
            stored.claimedMinor += grabMinor
            if try write(key, stored) {
                lease.redemptions += grabRedemptions
                lease.budgetMinor += grabMinor
                return stored
            }
        }
        throw .again("too many concurrent writers on \(key)")
    }

    /// Counts one more use by a customer if under the limit (one durable CAS per order).
    private func countCustomer(_ key: String, limit: Int64) throws(PluginError) -> Bool {
        for _ in 0..<50 {
            let current = try host.kvGet(key)
            let count = current.flatMap { Int64(String(decoding: $0.value, as: UTF8.self)) } ?? 0
            if count >= limit { return false }
            do {
                _ = try host.kvPut(key, Array(String(count + 1).utf8), expectedRevision: current?.revision ?? 0)
                return true
            } catch where error.status == 9 {
                continue
            }
        }
        throw .again("too many concurrent writers on \(key)")
    }

    /// The same wording as the sandbox's ledger (LimitCheck), so a simulation reads like live.
    private static func reason(_ request: LedgerRequest, stored: Stored, lease: Lease) -> String {
        if let max = request.limits.redemptions, lease.redemptions < 1 { return "limit of \(max) orders reached" }
        if let budget = request.limits.budgetMinor {
            return "budget \(MoneyText.format(budget)) would be exceeded (\(MoneyText.format(stored.claimedMinor - lease.budgetMinor)) given)"
        }
        return "limit reached"
    }


    private func read(_ key: String) throws(PluginError) -> Stored {
        guard let (value, revision) = try host.kvGet(key), let doc = try? JSONParser.parse(value) else { return Stored() }
        return Stored(
            claimedRedemptions: doc["claimed_redemptions"]?.intValue ?? 0, claimedMinor: doc["claimed_minor"]?.intValue ?? 0,
            givenRedemptions: doc["given_redemptions"]?.intValue ?? 0, givenMinor: doc["given_minor"]?.intValue ?? 0,
            revision: revision)
    }

    private func write(_ key: String, _ stored: Stored) throws(PluginError) -> Bool {
        var writer = JSONWriter(capacity: 128)
        writer.object { o in
            o.field("claimed_redemptions", stored.claimedRedemptions)
            o.field("claimed_minor", stored.claimedMinor)
            o.field("given_redemptions", stored.givenRedemptions)
            o.field("given_minor", stored.givenMinor)
        }
        do {
            _ = try host.kvPut(key, writer.bytes, expectedRevision: stored.revision)
            return true
        } catch where error.status == 9 {  // HUB_CONFLICT: another writer got there first
            return false
        }
    }

    /// Hot swap: moves every lease out (the unused blocks and what was given since the last
    /// flush), as JSON, for the successor to `adopt`: no durable write while orders wait.
    func handOver() -> [UInt8] {
        let all = slots.withLock { $0.map { ($0.key, $0.value) } }
        var writer = JSONWriter(capacity: 256)
        writer.object { o in
            for (key, slot) in all {
                let lease = slot.lease.withLock { lease -> Lease in
                    let taken = lease
                    lease.redemptions = 0
                    lease.budgetMinor = 0
                    lease.givenRedemptions = 0
                    lease.givenMinor = 0
                    return taken
                }
                guard lease.redemptions != 0 || lease.budgetMinor != 0 || lease.givenRedemptions != 0 || lease.givenMinor != 0 else { continue }
                o.object(key) { l in
                    l.field("redemptions", lease.redemptions)
                    l.field("budget_minor", lease.budgetMinor)
                    l.field("given_redemptions", lease.givenRedemptions)
                    l.field("given_minor", lease.givenMinor)
                }
            }
        }
        return writer.bytes
    }

    /// Takes over leases from a predecessor's `handOver` (added to any of its own).
    func adopt(_ json: JSONValue) {
        for (key, lease) in json.objectValue ?? [] {
            slot(key).lease.withLock { mine in
                mine.redemptions += lease["redemptions"]?.intValue ?? 0
                mine.budgetMinor += lease["budget_minor"]?.intValue ?? 0
                mine.givenRedemptions += lease["given_redemptions"]?.intValue ?? 0
                mine.givenMinor += lease["given_minor"]?.intValue ?? 0
            }
        }
    }

    /// Writes what was given since the last flush; with `release`, also gives unused blocks
    /// back (clean stop). Called by the plugin's timer and at shutdown.
    func flush(release: Bool) {
        let snapshot = slots.withLock { all in all.map { ($0.key, $0.value) } }.map { key, slot in
            let taken = slot.lease.withLock { lease -> Lease in
                let taken = lease
                lease.givenRedemptions = 0
                lease.givenMinor = 0
                if release {
                    lease.redemptions = 0
                    lease.budgetMinor = 0
                }
                return taken
            }
            return (key, slot, taken)
        }
        for (key, slot, lease) in snapshot where lease.givenRedemptions > 0 || (release && (lease.redemptions > 0 || lease.budgetMinor > 0)) {
            var written = false
            for _ in 0..<50 {
                guard var stored = try? read(key) else { break }
                stored.givenRedemptions += lease.givenRedemptions
                stored.givenMinor += lease.givenMinor
                if release {
                    stored.claimedRedemptions -= lease.redemptions
                    stored.claimedMinor -= lease.budgetMinor
                }
                if (try? write(key, stored)) == true {
                    written = true
                    break
                }
            }
            // Not written: keep the counts for the next flush (a failed release keeps its claim,
            // which errs short, never over).
            if !written {
                slot.lease.withLock { current in
                    current.givenRedemptions += lease.givenRedemptions
                    current.givenMinor += lease.givenMinor
                }
            }
        }
    }

    func usage(ruleset: String, rule: String) -> (redemptions: Int64, givenMinor: Int64) {
        let key = "promo/\(ruleset)/\(rule)"
        let local = slot(key).lease.withLock { $0 }
        let stored = (try? read(key)) ?? Stored()
        return (stored.givenRedemptions + local.givenRedemptions, stored.givenMinor + local.givenMinor)
    }
}
