import HubJSON
import Synchronization

/// Sliding windows for velocity rules: per (ruleset, rule, key value) the times of recent
/// orders and the value counted distinct. Sharded so concurrent orders with different keys
/// do not wait on one lock; one key's updates are serialised, so counts are exact.
public final class VelocityWindows: Sendable {
    struct Entry: Sendable {
        var times: [Int64] = []
        var distinct: [String] = []
    }
    final class Shard: Sendable {
        let entries = Mutex<[String: Entry]>([:])
        func withLock<R>(_ body: (inout [String: Entry]) -> R) -> R { entries.withLock { body(&$0) } }
    }
    private let shards: [Shard]

    public init(shards count: Int = 16) {
        shards = (0..<count).map { _ in Shard() }
    }

    private func shard(_ key: String) -> Shard {
        var hasher = Hasher()
        hasher.combine(key)
        return shards[Int(UInt(bitPattern: hasher.finalize()) % UInt(shards.count))]
    }

    /// Records one order at `now` and returns the counts over the window, this order included.
    public func record(_ key: String, now: Int64, window: Int64, distinct: String?) -> (count: Int, distinct: Int) {
        shard(key).withLock { entries in
            var entry = entries[key] ?? Entry()
            let horizon = now - window
            if let firstKept = entry.times.firstIndex(where: { $0 > horizon }) {
                if firstKept > 0 {
                    entry.times.removeFirst(firstKept)
                    entry.distinct.removeFirst(firstKept)
                }
            } else {
                entry.times.removeAll()
                entry.distinct.removeAll()
            }
            // Keep times sorted even when a replay records an older order late.
            let position = entry.times.lastIndex(where: { $0 <= now }).map { $0 + 1 } ?? 0
            entry.times.insert(now, at: position)
            entry.distinct.insert(distinct ?? "", at: position)
            entries[key] = entry
            return (entry.times.count, Set(entry.distinct).count)
        }
    }

    /// Drops windows with nothing newer than `horizon` (called by a timer, not per order).
    public func prune(olderThan horizon: Int64) {
        for shard in shards {
            shard.withLock { entries in entries = entries.filter { ($0.value.times.last ?? 0) > horizon } }
        }
    }

    public var keyCount: Int { shards.reduce(0) { total, shard in total + shard.withLock { $0.count } } }

    /// Every window as JSON, to survive a restart or move to a new version (hot swap).
    public func snapshot() -> [UInt8] {
        var writer = JSONWriter(capacity: 1024)
        writer.object { o in
            for shard in shards {
                shard.withLock { entries in
                    for (key, entry) in entries {
                        o.array(key) { a in
                            for (time, value) in zip(entry.times, entry.distinct) {
                                a.element(.array([.number(String(time)), .string(value)]))
                            }
                        }
                    }
                }
            }
        }
        return writer.bytes
    }

    /// Restores windows from `snapshot()`, keeping entries newer than `horizon`.
    public func restore(_ bytes: [UInt8], horizon: Int64) throws {
        let document = try JSONParser.parse(bytes)
        for (key, list) in document.objectValue ?? [] {
            var entry = Entry()
            for pair in list.arrayValue ?? [] {
                guard let time = pair.arrayValue?.first?.intValue, time > horizon else { continue }
                entry.times.append(time)
                entry.distinct.append(pair.arrayValue?.last?.stringValue ?? "")
            }
            if !entry.times.isEmpty { shard(key).withLock { $0[key] = entry } }
        }
    }
}
