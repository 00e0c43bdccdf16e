import HubJSON
import HubLoader

/// The right to dispatch for one connector, held by one hub node at a time, kept in the shared
/// bus's KV (`host.cluster` / `dispatch/<slot>`) with compare-and-set.
///
/// No clocks are compared across machines. The holder renews by bumping the entry's revision;
/// another node takes the lease over only after it has watched the same revision sit unchanged
/// for a whole lease period on its own clock. The holder stops dispatching (is fenced) once its
/// last successful renewal is older than the lease minus a safety margin, so its deliveries end
/// before anyone else's can begin.
struct DispatchLease {
    static let namespace = "host.cluster"
    static func key(_ slot: String) -> String { "dispatch/\(slot)" }

    enum Change: Equatable {
        case none
        case gained
        case lost(String)
    }

    let slot: String
    let node: String
    /// This process's own mark (a restarted node of the same name is another incarnation).
    let incarnation: String
    let leaseNanos: UInt64
    /// Deliveries stop this long before another node could take over.
    let marginNanos: UInt64

    private(set) var held = false
    private var revision: UInt64 = 0
    /// Until when (monotonic) this node may start deliveries.
    private(set) var validUntil: UInt64 = 0
    private var watched: (revision: UInt64, since: UInt64)?

    init(slot: String, node: String, incarnation: String, leaseNanos: UInt64) {
        self.slot = slot
        self.node = node
        self.incarnation = incarnation
        self.leaseNanos = leaseNanos
        marginNanos = leaseNanos / 3
    }

    /// Whether deliveries may start now.
    func allows(now: UInt64) -> Bool { held && now < validUntil }

    /// One step: renew when held, otherwise try to take a free or abandoned lease.
    mutating func tick(bus: PluginInstance, now: UInt64) -> Change {
        let key = Self.key(slot)
        if held {
            do throws(PluginCallError) {
                revision = try bus.kvPut(namespace: Self.namespace, key: key, value: value(), expectedRevision: revision)
                validUntil = now + leaseNanos - marginNanos
                return .none
            } catch where error.status == 9 {
                // Taken over, or our own write went through with its answer lost (or the bus
                // refused a whole batch): the entry says which.
                if let (stored, current) = try? bus.kvGet(namespace: Self.namespace, key: key),
                   (try? JSONParser.parse(stored))?["incarnation"]?.stringValue == incarnation {
                    revision = current
                    return .none
                }
                return lose("another node took the dispatch lease of \(slot)")
            } catch {
                // The bus cannot answer: keep trying until the fence, then stand down.
                return now >= validUntil ? lose("could not renew the dispatch lease of \(slot): \(error.message)") : .none
            }
        }
        do throws(PluginCallError) {
            guard let (stored, current) = try bus.kvGet(namespace: Self.namespace, key: key) else {
                return take(bus: bus, expecting: 0, now: now)
            }
            let value = try? JSONParser.parse(stored)
            let owner = value?["node"]?.stringValue ?? ""
            // Released on a clean stop, or this very process's (an answer lost on the way back).
            if owner.isEmpty || value?["incarnation"]?.stringValue == incarnation { return take(bus: bus, expecting: current, now: now) }
            // The clock starts when the revision was seen (after the read), and runs for the
            // longer of our lease and the holder's.
            let seen = Clock.monotonicNanos()
            if watched?.revision != current {
                watched = (current, seen)
                return .none
            }
            let holderLease = UInt64(max(0, value?["lease_ms"]?.intValue ?? 0)) * 1_000_000
            guard let since = watched?.since, seen - since >= max(leaseNanos, holderLease) else { return .none }
            return take(bus: bus, expecting: current, now: now)
        } catch {
            return .none
        }
    }

    /// Gives the lease up on a clean stop, so another node takes over at once.
    mutating func release(bus: PluginInstance) {
        guard held else { return }
        held = false
        _ = try? bus.kvPut(namespace: Self.namespace, key: Self.key(slot), value: Array(#"{"node":""}"#.utf8), expectedRevision: revision)
    }

    private mutating func take(bus: PluginInstance, expecting: UInt64, now: UInt64) -> Change {
        do throws(PluginCallError) {
            revision = try bus.kvPut(namespace: Self.namespace, key: Self.key(slot), value: value(), expectedRevision: expecting)
        } catch {
            return .none  // someone else was quicker, or the bus is away: look again next tick
        }
        held = true
        watched = nil
        validUntil = now + leaseNanos - marginNanos
        return .gained
    }

    private mutating func lose(_ why: String) -> Change {
        held = false
        watched = nil
        validUntil = 0
        return .lost(why)
    }

    private func value() -> [UInt8] {
        var writer = JSONWriter()
        writer.object { o in
            o.field("node", node)
            o.field("incarnation", incarnation)
            o.field("lease_ms", Int(leaseNanos / 1_000_000))
        }
        return writer.bytes
    }
}
