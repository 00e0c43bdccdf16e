import HubJSON
import Synchronization

/// Sliding windows for velocity rules: per (ruleset, rule, key value) the times of recent
/// orders and the value counted distinct. Sharded so concurrent orders with different keys
/// do not wait on one lock; one key's updates are serialised, so counts are exact.
public final class VelocityWindows: Sendable {
    /// What one key keeps: only what the rule's thresholds can need. "At least N orders in
    /// the window" holds exactly when the N-th most recent order is inside it, so the N most
    /// recent times suffice; likewise the K most recently seen distinct values for "at least K
    /// distinct". Memory and work per order are bounded by the thresholds, not by traffic.
    struct Entry: Sendable {
        var times: [Int64] = []
        var recent: [(value: String, time: Int64)] = []
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

    /// Records one order at `now`; returns the orders and distinct values in the window, this
    /// order included, counted up to `keepTimes` and `keepDistinct` (the rule's thresholds).
    public func record(
        _ key: String, now: Int64, window: Int64, distinct: String?, keepTimes: Int = 100_000, keepDistinct: Int = 100_000
    ) -> (count: Int, distinct: Int) {
        shard(key).withLock { entries in
            let horizon = now - window
            var entry = entries.removeValue(forKey: key) ?? Entry()
            // Times stay sorted even when a replay records an older order late.
            let position = entry.times.lastIndex(where: { $0 <= now }).map { $0 + 1 } ?? 0
            entry.times.insert(now, at: position)
            if entry.times.count > keepTimes { entry.times.removeFirst(entry.times.count - keepTimes) }
            if let distinct {
                entry.recent.removeAll { $0.value == distinct }
                let at = entry.recent.firstIndex { $0.time < now } ?? entry.recent.count
                entry.recent.insert((distinct, now), at: at)
                if entry.recent.count > keepDistinct { entry.recent.removeLast(entry.recent.count - keepDistinct) }
            }
            let count = entry.times.reduce(0) { $0 + ($1 > horizon ? 1 : 0) }
            let distinctCount = entry.recent.reduce(0) { $0 + ($1.time > horizon ? 1 : 0) }
            entries[key] = entry
            return (count, distinct == nil ? 0 : distinctCount)
        }
    }

    /// Drops windows with nothing newer than `horizon` (called by a timer, not per order).
    public func prune(olderThan horizon: Int64) {
        for shard in shards {
            shard.withLock { entries in entries = entries.filter { ($0.value.times.last ?? 0) > horizon } }
        }
    }

    public var keyCount: Int { shards.reduce(0) { total, shard in total + shard.withLock { $0.count } } }

    /// Every window as JSON, to survive a restart or move to a new version (hot swap):
    /// {"key": {"times": [...], "recent": [[value, time], ...]}}.
    public func snapshot() -> [UInt8] {
        var writer = JSONWriter(capacity: 1024)
        writer.object { o in
            for shard in shards {
                shard.withLock { entries in
                    for (key, entry) in entries {
                        o.object(key) { e in
                            e.array("times") { a in for time in entry.times { a.element(.number(String(time))) } }
                            e.array("recent") { a in
                                for (value, time) in entry.recent { a.element(.array([.string(value), .number(String(time))])) }
                            }
                        }
                    }
                }
            }
        }
        return writer.bytes
    }

    /// Joins windows from `snapshot()` with those held (hot swap, canary promotion): the same
    /// entry in both counts once.
    public func merge(_ bytes: [UInt8], horizon: Int64) throws {
        let document = try JSONParser.parse(bytes)
        for (key, saved) in document.objectValue ?? [] {
            let times = (saved["times"]?.arrayValue ?? []).compactMap(\.intValue).filter { $0 > horizon }
            let recent: [(value: String, time: Int64)] = (saved["recent"]?.arrayValue ?? []).compactMap { pair in
                guard let list = pair.arrayValue, list.count == 2, let value = list[0].stringValue, let time = list[1].intValue,
                      time > horizon else { return nil }
                return (value, time)
            }
            guard !times.isEmpty else { continue }
            shard(key).withLock { entries in
                var entry = entries[key] ?? Entry()
                entry.times = Array(Set(entry.times + times)).sorted()
                var seen = Set<String>()
                entry.recent = (entry.recent + recent).sorted { $0.time < $1.time }.filter { seen.insert("\($0.time)|\($0.value)").inserted }
                entries[key] = entry
            }
        }
    }

    /// Restores windows from `snapshot()`, keeping entries newer than `horizon`.
    public func restore(_ bytes: [UInt8], horizon: Int64) throws {
        let document = try JSONParser.parse(bytes)
        for (key, saved) in document.objectValue ?? [] {
            var entry = Entry()
            entry.times = (saved["times"]?.arrayValue ?? []).compactMap(\.intValue).filter { $0 > horizon }
            entry.recent = (saved["recent"]?.arrayValue ?? []).compactMap { pair in
                guard let list = pair.arrayValue, list.count == 2, let value = list[0].stringValue, let time = list[1].intValue,
                      time > horizon else { return nil }
                return (value, time)
            }
            if !entry.times.isEmpty { shard(key).withLock { $0[key] = entry } }
        }
    }
}
