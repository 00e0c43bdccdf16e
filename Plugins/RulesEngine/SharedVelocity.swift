import HubPluginKit
import HubRules
import Synchronization

/// Velocity windows in the host's KV, for hub nodes that share one bus (HUB_HOST_CAP_KV_SHARED):
/// each key's window is one KV entry, updated by compare-and-set, so "7 orders from one IP in
/// 12 s" counts the orders every node took, exactly. Costs two KV round trips per velocity rule
/// per order (more when two nodes count the same key at the same moment).
///
/// When the KV cannot answer (the database is away), the order is counted in this node's own
/// windows instead, and the log says so once: the commit of that order fails the same way.
final class SharedVelocity: VelocityCounter {
    private let host: HostServices
    private let local: VelocityWindows
    private let warned = Atomic<Bool>(false)

    init(host: HostServices, fallback: VelocityWindows) {
        self.host = host
        local = fallback
    }

    func record(_ key: String, now: Int64, window: Int64, distinct: String?, keepTimes: Int, keepDistinct: Int) -> (count: Int, distinct: Int) {
        let kvKey = "velocity/w/" + key
        for _ in 0..<64 {
            do throws(PluginError) {
                let found = try host.kvGet(kvKey)
                var entry = found.flatMap { SharedVelocityEntry(bytes: $0.value) } ?? SharedVelocityEntry()
                let counts = entry.record(now: now, window: window, distinct: distinct, keepTimes: keepTimes, keepDistinct: keepDistinct)
                _ = try host.kvPut(kvKey, entry.bytes, expectedRevision: found?.revision ?? 0)
                // Answering again: the next outage is reported too.
                if warned.load(ordering: .relaxed) { warned.store(false, ordering: .relaxed) }
                return counts
            } catch where error.status == 9 {
                continue  // another node counted this key in between: read it again
            } catch {
                if !warned.exchange(true, ordering: .relaxed) {
                    host.log(.warn, "rules: shared velocity windows unavailable (\(error.message)); counting on this node alone until the KV answers")
                }
                return local.record(key, now: now, window: window, distinct: distinct, keepTimes: keepTimes, keepDistinct: keepDistinct)
            }
        }
        host.log(.warn, "rules: velocity key '\(key)' lost 64 compare-and-sets in a row; this order is counted on this node alone")
        return local.record(key, now: now, window: window, distinct: distinct, keepTimes: keepTimes, keepDistinct: keepDistinct)
    }
}
