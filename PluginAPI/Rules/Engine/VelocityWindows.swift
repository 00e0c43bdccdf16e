import HubJSON
import Synchronization

/// Sliding windows for velocity rules: per (ruleset, rule, key value) the times of recent
/// orders and the value counted distinct. Sharded so concurrent orders with different keys
/// do not wait on one lock; one key's updates are serialised, so counts are exact.
public final class VelocityWindows: VelocityCounter, Sendable {
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

    /// Every window in a compact binary form, for a hot swap (parsed in a fraction of the
    /// JSON's time while orders wait): "VW1\0", u32 keys, then per key u32 length + key,
    /// u32 times + i64 each, u32 recent + (u32 length + value, i64 time) each; little-endian.
    public func handOver() -> [UInt8] {
        var out: [UInt8] = Array("VW1\0".utf8)
        var keys: UInt32 = 0
        out.append(contentsOf: [0, 0, 0, 0])
        func put32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func put64(_ v: Int64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func putText(_ text: String) {
            let bytes = Array(text.utf8)
            put32(UInt32(bytes.count))
            out.append(contentsOf: bytes)
        }
        for shard in shards {
            shard.withLock { entries in
                for (key, entry) in entries {
                    keys += 1
                    putText(key)
                    put32(UInt32(entry.times.count))
                    for time in entry.times { put64(time) }
                    put32(UInt32(entry.recent.count))
                    for (value, time) in entry.recent {
                        putText(value)
                        put64(time)
                    }
                }
            }
        }
        withUnsafeBytes(of: keys.littleEndian) { raw in for (index, byte) in raw.enumerated() { out[4 + index] = byte } }
        return out
    }

    public struct DamagedState: Error, CustomStringConvertible {
        public let description: String
    }

    /// Joins windows from `handOver()` with those held; the same entry in both counts once.
    public func merge(handOver bytes: [UInt8], horizon: Int64) throws {
        var at = 0
        func need(_ n: Int) throws {
            guard at + n <= bytes.count else { throw DamagedState(description: "velocity windows hand-over ends early at byte \(at)") }
        }
        func get32() throws -> UInt32 {
            try need(4)
            defer { at += 4 }
            return UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        }
        func get64() throws -> Int64 {
            let low = UInt64(try get32()), high = UInt64(try get32())
            return Int64(bitPattern: low | high << 32)
        }
        func getText() throws -> String {
            let length = Int(try get32())
            try need(length)
            defer { at += length }
            return String(decoding: bytes[at..<at + length], as: UTF8.self)
        }
        guard bytes.count >= 8, bytes[0..<4].elementsEqual("VW1\0".utf8) else { throw DamagedState(description: "not a velocity windows hand-over (no VW1 header)") }
        at = 4
        let keys = try get32()
        for _ in 0..<keys {
            let key = try getText()
            var times: [Int64] = []
            for _ in 0..<(try get32()) {
                let time = try get64()
                if time > horizon { times.append(time) }
            }
            var recent: [(value: String, time: Int64)] = []
            for _ in 0..<(try get32()) {
                let value = try getText()
                let time = try get64()
                if time > horizon { recent.append((value, time)) }
            }
            guard !times.isEmpty else { continue }
            shard(key).withLock { entries in
                guard var entry = entries[key] else {
                    entries[key] = Entry(times: times, recent: recent)
                    return
                }
                entry.times = Self.mergeSorted(entry.times, times)
                for item in recent where !entry.recent.contains(where: { $0.time == item.time && $0.value == item.value }) {
                    entry.recent.append(item)
                }
                entry.recent.sort { $0.time > $1.time }
                entries[key] = entry
            }
        }
    }

    /// Two ascending lists as one, each time once.
    static func mergeSorted(_ a: [Int64], _ b: [Int64]) -> [Int64] {
        var out: [Int64] = []
        out.reserveCapacity(a.count + b.count)
        var i = 0, j = 0
        while i < a.count || j < b.count {
            let next: Int64
            if j >= b.count || (i < a.count && a[i] <= b[j]) { next = a[i]; i += 1 } else { next = b[j]; j += 1 }
            if out.last != next { out.append(next) }
        }
        return out
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

/// One velocity key's window as bytes, for a store several hub nodes share (KV with
/// compare-and-set): the times of the orders inside the window, and the distinct values seen
/// with the time each was last seen. Only what is inside the window is kept.
public struct SharedVelocityEntry: Sendable {
    public var times: [Int64] = []
    public var recent: [(value: String, time: Int64)] = []

    public init() {}

    /// Decodes `bytes` (nil when damaged: the caller starts afresh).
    public init?(bytes: [UInt8]) {
        var index = 0
        func integer() -> UInt64? {
            guard index + 8 <= bytes.count else { return nil }
            var value: UInt64 = 0
            for offset in 0..<8 { value |= UInt64(bytes[index + offset]) << (8 * UInt64(offset)) }
            index += 8
            return value
        }
        guard let timeCount = integer(), timeCount <= 100_000 else { return nil }
        for _ in 0..<timeCount {
            guard let time = integer() else { return nil }
            times.append(Int64(bitPattern: time))
        }
        guard let recentCount = integer(), recentCount <= 100_000 else { return nil }
        for _ in 0..<recentCount {
            guard let time = integer(), let length = integer(), length <= UInt64(bytes.count - index) else { return nil }
            recent.append((String(decoding: bytes[index..<index + Int(length)], as: UTF8.self), Int64(bitPattern: time)))
            index += Int(length)
        }
        guard index == bytes.count else { return nil }
    }

    public var bytes: [UInt8] {
        var out: [UInt8] = []
        func append(_ value: UInt64) { for offset in 0..<8 { out.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(offset)))) } }
        append(UInt64(times.count))
        for time in times { append(UInt64(bitPattern: time)) }
        append(UInt64(recent.count))
        for (value, time) in recent {
            append(UInt64(bitPattern: time))
            append(UInt64(value.utf8.count))
            out.append(contentsOf: value.utf8)
        }
        return out
    }

    /// Counts one order at `now`, as VelocityWindows.record does, and drops what fell out of the window.
    public mutating func record(now: Int64, window: Int64, distinct: String?, keepTimes: Int, keepDistinct: Int) -> (count: Int, distinct: Int) {
        let horizon = now - window
        let position = times.lastIndex(where: { $0 <= now }).map { $0 + 1 } ?? 0
        times.insert(now, at: position)
        times.removeAll { $0 <= horizon }
        if times.count > keepTimes { times.removeFirst(times.count - keepTimes) }
        if let distinct {
            recent.removeAll { $0.value == distinct }
            let at = recent.firstIndex { $0.time < now } ?? recent.count
            recent.insert((distinct, now), at: at)
        }
        recent.removeAll { $0.time <= horizon }
        if recent.count > keepDistinct { recent.removeLast(recent.count - keepDistinct) }
        return (times.count, distinct == nil ? 0 : recent.count)
    }
}
