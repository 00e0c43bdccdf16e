import HubJSON
import HubLoader
import Logging

/// Copies everything one state bus holds into another, empty one, through the ABI alone (so
/// any two buses, SQLite to PostgreSQL and back): the event log record by record, in order,
/// with ids, times, sequences and states kept; the idempotency records; and the plugins' KV.
/// Then reads both back and compares counts and checksums.
///
/// Offsets are the target's own: the outbox watermarks (`host.outbox`, KV values that are log
/// offsets) are translated to the target offset of the same record. Dispatch leases
/// (`host.cluster`) are not copied: they belong to running nodes.
public struct BusMigration {
    public struct Counts: Sendable, Equatable {
        public var records = 0
        public var events = 0
        public var idempotency = 0
        public var kv = 0
    }

    /// What was copied and what each side reads back as.
    public struct Report: Sendable {
        public let source: Counts
        public let target: Counts
        public let sourceChecksums: [String: String]
        public let targetChecksums: [String: String]
        public var matches: Bool { source == target && sourceChecksums == targetChecksums }
    }

    public enum Failure: Error, CustomStringConvertible {
        case targetNotEmpty(String)
        case bus(PluginCallError)
        public var description: String {
            switch self {
            case .targetNotEmpty(let what): return "the target bus is not empty (\(what)): migrate into a new, empty bus"
            case .bus(let error): return "\(error)"
            }
        }
    }

    /// Progress: phase ("log", "idempotency", "kv", "verify"), done, total (0 when unknown).
    public typealias Progress = (String, Int, Int) -> Void

    let from: PluginInstance
    let to: PluginInstance
    let batch: Int

    public init(from: PluginInstance, to: PluginInstance, batch: Int = 500) {
        self.from = from
        self.to = to
        self.batch = max(1, batch)
    }

    public func run(progress: Progress = { _, _, _ in }) throws(Failure) -> Report {
        let empty: (tail: UInt64, keys: Int, kv: Int)
        do throws(PluginCallError) {
            empty = (try to.waitCommits(after: UInt64.max, timeoutMillis: 0), try pageCount(try to.idempotencyScan(after: "", max: 1)),
                     try pageCount(try to.kvScan(afterNamespace: "", afterKey: "", max: 1)))
        } catch {
            throw .bus(error)
        }
        if empty.tail > 0 || empty.keys > 0 || empty.kv > 0 {
            throw .targetNotEmpty("its log reaches offset \(empty.tail), \(empty.keys > 0 ? "it has" : "no") idempotency records, \(empty.kv > 0 ? "it has" : "no") KV entries")
        }
        do throws(PluginCallError) {
            let total = Int(try from.waitCommits(after: UInt64.max, timeoutMillis: 0))
            var copied = Counts()
            let offsets = try copyLog(total: total, counts: &copied, progress: progress)
            try copyIdempotency(counts: &copied, progress: progress)
            try copyKV(offsets: offsets, counts: &copied, progress: progress)
            var sourceSums = Checksums()
            var source = Counts()
            try Self.checksum(from, translate: offsets, into: &sourceSums, counts: &source) { progress("verify", $0, total * 2) }
            var targetSums = Checksums()
            var target = Counts()
            try Self.checksum(to, translate: nil, into: &targetSums, counts: &target) { progress("verify", total + $0, total * 2) }
            return Report(source: source, target: target, sourceChecksums: sourceSums.hex, targetChecksums: targetSums.hex)
        } catch {
            throw .bus(error)
        }
    }

    private func pageCount(_ json: [UInt8]) throws(PluginCallError) -> Int { (try? JSONParser.parse(json).arrayValue?.count) ?? 0 }

    /// Source offset -> target offset, for every record copied (in order).
    private func copyLog(total: Int, counts: inout Counts, progress: Progress) throws(PluginCallError) -> [(UInt64, UInt64)] {
        var offsets: [(UInt64, UInt64)] = []
        var after: UInt64 = 0
        var pending: [(offset: UInt64, events: [BusEvent])] = []
        var subjects = Set<String>()
        func flush() throws(PluginCallError) {
            guard !pending.isEmpty else { return }
            let last = try to.append(pending.flatMap(\.events))
            // A bus stores one record per order per append, in first-appearance order, with
            // consecutive offsets: subjects never repeat within one batch here.
            for (index, record) in pending.enumerated() {
                offsets.append((record.offset, last - UInt64(pending.count - 1 - index)))
            }
            counts.records += pending.count
            pending.removeAll(keepingCapacity: true)
            subjects.removeAll(keepingCapacity: true)
            progress("log", Int(offsets.last?.0 ?? 0), total)
        }
        while true {
            let (json, next) = try from.read(after: after, max: UInt32(batch))
            guard next > after else { break }
            for record in (try? JSONParser.parse(json).arrayValue) ?? [] {
                let offset = UInt64(record["offset"]?.intValue ?? 0)
                let events = (record["events"]?.arrayValue ?? []).compactMap { BusEvent(stored: $0, keepingState: true) }
                guard let subject = events.first?.subject else { continue }
                if subjects.contains(subject) || pending.count >= batch { try flush() }
                subjects.insert(subject)
                pending.append((offset, events))
                counts.events += events.count
            }
            after = next
        }
        try flush()
        return offsets
    }

    private func copyIdempotency(counts: inout Counts, progress: Progress) throws(PluginCallError) {
        var after = ""
        while true {
            let page = (try? JSONParser.parse(try from.idempotencyScan(after: after, max: UInt32(batch))).arrayValue) ?? []
            guard let last = page.last?["key"]?.stringValue else { break }
            let records = page.compactMap { row -> IdempotencyRecord? in
                guard let key = row["key"]?.stringValue else { return nil }
                return IdempotencyRecord(key: key, subject: row["subject"]?.stringValue ?? "", fingerprint: row["fingerprint"]?.stringValue ?? "",
                                         response: Array((row["response"]?.stringValue ?? "").utf8))
            }
            _ = try to.append([], records: records)
            counts.idempotency += records.count
            progress("idempotency", counts.idempotency, 0)
            after = last
        }
    }

    private func copyKV(offsets: [(UInt64, UInt64)], counts: inout Counts, progress: Progress) throws(PluginCallError) {
        var after = ("", "")
        while true {
            let page = (try? JSONParser.parse(try from.kvScan(afterNamespace: after.0, afterKey: after.1, max: UInt32(batch))).arrayValue) ?? []
            guard let last = page.last else { break }
            for row in page {
                guard let ns = row["ns"]?.stringValue, let key = row["key"]?.stringValue, let value = Self.unhex(row["value_hex"]?.stringValue ?? "")
                else { continue }
                if ns == DispatchLease.namespace { continue }
                let copied = Self.translated(ns: ns, key: key, value: value, offsets: offsets)
                _ = try to.kvPut(namespace: ns, key: key, value: copied, expectedRevision: 0)
                counts.kv += 1
            }
            progress("kv", counts.kv, 0)
            after = (last["ns"]?.stringValue ?? "", last["key"]?.stringValue ?? "")
        }
    }

    /// An outbox watermark (a log offset) becomes the target offset of the last record at or below it.
    static func translated(ns: String, key: String, value: [UInt8], offsets: [(UInt64, UInt64)]?) -> [UInt8] {
        guard let offsets, ns == OutboxRecovery.namespace, key.hasSuffix("/watermark"),
              let mark = UInt64(String(decoding: value, as: UTF8.self)) else { return value }
        var low = 0, high = offsets.count
        while low < high {
            let mid = (low + high) / 2
            if offsets[mid].0 <= mark { low = mid + 1 } else { high = mid }
        }
        return Array(String(low == 0 ? 0 : offsets[low - 1].1).utf8)
    }

    /// Reads a whole bus back: counts, and SHA-256 over its log (events in canonical JSON, offsets
    /// left out: they are each bus's own), idempotency records and KV (watermarks translated).
    static func checksum(_ bus: PluginInstance, translate: [(UInt64, UInt64)]?, into sums: inout Checksums, counts: inout Counts,
                         progress: (Int) -> Void) throws(PluginCallError) {
        var after: UInt64 = 0
        while true {
            let (json, next) = try bus.read(after: after, max: 1000)
            guard next > after else { break }
            for record in (try? JSONParser.parse(json).arrayValue) ?? [] {
                let events = record["events"]?.arrayValue ?? []
                counts.records += 1
                counts.events += events.count
                var writer = JSONWriter()
                writer.value(.array(events.map(canonical)))
                sums.log.update(writer.bytes)
                sums.log.update([0x0A])
            }
            after = next
            progress(counts.records)
        }
        var key = ""
        while true {
            let page = (try? JSONParser.parse(try bus.idempotencyScan(after: key, max: 1000)).arrayValue) ?? []
            guard let last = page.last?["key"]?.stringValue else { break }
            for row in page {
                var writer = JSONWriter()
                writer.value(canonical(row))
                sums.idempotency.update(writer.bytes)
                counts.idempotency += 1
            }
            key = last
        }
        var position = ("", "")
        while true {
            let page = (try? JSONParser.parse(try bus.kvScan(afterNamespace: position.0, afterKey: position.1, max: 1000)).arrayValue) ?? []
            guard let last = page.last else { break }
            for row in page {
                let ns = row["ns"]?.stringValue ?? "", key = row["key"]?.stringValue ?? ""
                guard ns != DispatchLease.namespace, let value = unhex(row["value_hex"]?.stringValue ?? "") else { continue }
                sums.kv.update(Array("\(ns)\u{0}\(key)\u{0}".utf8) + translated(ns: ns, key: key, value: value, offsets: translate) + [0x0A])
                counts.kv += 1
            }
            position = (last["ns"]?.stringValue ?? "", last["key"]?.stringValue ?? "")
        }
    }

    /// Members sorted by name, so two renderings of the same content hash alike.
    static func canonical(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let members): return .object(members.map { ($0.key, canonical($0.value)) }.sorted { $0.0 < $1.0 }.map { (key: $0.0, value: $0.1) })
        case .array(let items): return .array(items.map(canonical))
        default: return value
        }
    }

    static func unhex(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x61...0x66: return c - 0x61 + 10
        case 0x41...0x46: return c - 0x41 + 10
        default: return nil
        }
    }
}

/// Running SHA-256 digests of the three parts of a bus.
struct Checksums {
    var log = SHA256()
    var idempotency = SHA256()
    var kv = SHA256()
    var hex: [String: String] {
        var copy = self
        return ["log": copy.log.finalizeHex(), "idempotency": copy.idempotency.finalizeHex(), "kv": copy.kv.finalizeHex()]
    }
}

extension BusMigration {
    /// Opens (loads, verifies and creates) the state bus a manifest names, and nothing else.
    public static func openBus(_ manifest: Manifest, logger: Logger) throws(LoadError) -> PluginInstance {
        guard let spec = manifest.bus else { throw LoadError(.descriptorInvalid, path: manifest.path, "the manifest names no state_bus plugin") }
        return try PluginSet.create(spec, manifest: manifest, metrics: MetricsRegistry(), logger: logger, backend: nil)
    }
}
