import Foundation
import HubPluginKit
import HubRules
import Synchronization

/// Every version of every ruleset, kept in the host's durable KV: drafts, the published
/// (live) one and the publish history. The live rulesets are one immutable array swapped as
/// a whole, so an order is judged by the old set or the new one, never a mix.
final class RulesetStore: Sendable {
    struct Index: Sendable {
        var live: Int = 0
        var latest: Int = 0
        /// Published versions, oldest first; rollback walks back along it.
        var history: [Int] = []
        /// Every version that was ever live (a rolled-back version is "retired", not a draft).
        var everPublished: [Int] = []
        var seedDigest = ""
    }
    struct Version: Sendable {
        let number: Int
        let source: String
        let file: String
        let tables: [(name: String, csv: String)]
        let createdAt: String
        let note: String
    }

    private let host: HostServices
    private let live = Mutex<[Ruleset]>([])
    private let writes = Mutex<Void>(())

    init(host: HostServices) { self.host = host }

    var current: [Ruleset] { live.withLock { $0 } }

    // MARK: KV layout: rulesets (list of ids), ruleset/<id>/index, ruleset/<id>/v/<n>

    func ids() throws(PluginError) -> [String] {
        guard let (bytes, _) = try host.kvGet("rulesets") else { return [] }
        return (try? JSONParser.parse(bytes))?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    func index(_ id: String) throws(PluginError) -> (Index, UInt64)? {
        guard let (bytes, revision) = try host.kvGet("ruleset/\(id)/index"), let doc = try? JSONParser.parse(bytes) else { return nil }
        var index = Index()
        index.live = Int(doc["live"]?.intValue ?? 0)
        index.latest = Int(doc["latest"]?.intValue ?? 0)
        index.history = doc["history"]?.arrayValue?.compactMap { $0.intValue.map(Int.init) } ?? []
        index.everPublished = doc["ever_published"]?.arrayValue?.compactMap { $0.intValue.map(Int.init) } ?? []
        index.seedDigest = doc["seed_digest"]?.stringValue ?? ""
        return (index, revision)
    }

    private func saveIndex(_ id: String, _ index: Index, revision: UInt64) throws(PluginError) {
        var writer = JSONWriter()
        writer.object { o in
            o.field("live", index.live)
            o.field("latest", index.latest)
            o.array("history") { a in for v in index.history { a.element(Int64(v)) } }
            o.array("ever_published") { a in for v in index.everPublished { a.element(Int64(v)) } }
            o.field("seed_digest", index.seedDigest)
        }
        _ = try host.kvPut("ruleset/\(id)/index", writer.bytes, expectedRevision: revision)
    }

    func version(_ id: String, _ number: Int) throws(PluginError) -> Version? {
        guard let (bytes, _) = try host.kvGet("ruleset/\(id)/v/\(number)"), let doc = try? JSONParser.parse(bytes) else { return nil }
        return Version(
            number: number, source: doc["source"]?.stringValue ?? "", file: doc["file"]?.stringValue ?? "",
            tables: (doc["tables"]?.objectValue ?? []).map { ($0.key, $0.value.stringValue ?? "") },
            createdAt: doc["created_at"]?.stringValue ?? "", note: doc["note"]?.stringValue ?? "")
    }

    // MARK: Operations

    /// Validates and stores a new version (a draft). Tables named by file are read now and
    /// stored with it, so the version is complete on its own.
    func create(source: String, file: String, note: String, tableFiles: (String) -> String?) throws(PluginError) -> (Ruleset, Int) {
        var tableTexts: [(String, String)] = []
        let compiled: Ruleset
        do {
            compiled = try RulesetParser.compile(text: source, file: file) { path in
                let text = tableFiles(path)
                if let text { tableTexts.append((path, text)) }
                return text
            }
        } catch {
            throw .invalid(error.description)
        }
        return try writes.withLock { _ throws(PluginError) in
            let id = compiled.id
            let (found, revision) = try self.index(id) ?? (Index(), 0)
            var index = found
            // Listed first: a version is never stored for a ruleset nobody would load.
            var known = try ids()
            if !known.contains(id) {
                let listRevision = try host.kvGet("rulesets")?.revision ?? 0
                known.append(id)
                var list = JSONWriter()
                list.array { a in for k in known { a.element(k) } }
                _ = try host.kvPut("rulesets", list.bytes, expectedRevision: listRevision)
            }
            let number = index.latest + 1
            var writer = JSONWriter(capacity: source.utf8.count + 256)
            writer.object { o in
                o.field("source", source)
                o.field("file", file)
                o.object("tables") { t in for (path, csv) in tableTexts { t.field(path, csv) } }
                o.field("created_at", Timestamp.rfc3339(unixNanos: Int64(host.wallNanos())))
                o.field("note", note)
            }
            // The number is reserved first (compare-and-set on the index), then the version
            // written: a failure in between leaves a gap, never a number every later create trips on.
            index.latest = number
            try saveIndex(id, index, revision: revision)
            _ = try host.kvPut("ruleset/\(id)/v/\(number)", writer.bytes, expectedRevision: 0)
            var numbered = compiled
            numbered.version = number
            return (numbered, number)
        }
    }

    /// Compiles a stored version (its tables come from the version itself).
    func compile(_ id: String, _ number: Int) throws(PluginError) -> Ruleset {
        guard let stored = try version(id, number) else { throw PluginError(8, "ruleset '\(id)' has no version \(number)") }
        do {
            var ruleset = try RulesetParser.compile(text: stored.source, file: stored.file) { path in
                stored.tables.first { $0.name == path }?.csv
            }
            ruleset.version = number
            return ruleset
        } catch {
            throw .invalid(error.description)
        }
    }

    /// Makes `number` (default: the latest) live: validated first, then swapped atomically.
    func publish(_ id: String, _ number: Int?, rollback: Bool = false) throws(PluginError) -> Ruleset {
        try writes.withLock { _ throws(PluginError) in
            guard let (found, revision) = try self.index(id) else { throw PluginError(8, "no ruleset '\(id)'") }
            var index = found
            let target: Int
            if rollback {
                guard index.history.count >= 2 else { throw .invalid("ruleset '\(id)' has no earlier published version to roll back to") }
                target = number ?? index.history[index.history.count - 2]
                guard index.history.contains(target) else { throw .invalid("version \(target) of '\(id)' was never published") }
            } else {
                target = number ?? index.latest
            }
            let ruleset = try compile(id, target)
            if rollback {
                while let last = index.history.last, last != target { index.history.removeLast() }
            } else if index.history.last != target {
                // Publishing the live version again (a retried request) changes no history.
                index.history.append(target)
            }
            index.live = target
            if !index.everPublished.contains(target) { index.everPublished.append(target) }
            try saveIndex(id, index, revision: revision)
            swapIn(ruleset)
            return ruleset
        }
    }

    func swapIn(_ ruleset: Ruleset) {
        live.withLock { sets in
            var next = sets.filter { $0.id != ruleset.id }
            if let position = sets.firstIndex(where: { $0.id == ruleset.id }) {
                next.insert(ruleset, at: min(position, next.count))
            } else {
                next.append(ruleset)
            }
            sets = next
        }
    }

    /// At start: loads the live version of every known ruleset; a seed file (from the
    /// manifest) becomes a new published version when its content changed since last start.
    func start(seeds: [(path: String, text: String)], tableFiles: @escaping (String, String) -> String?) throws(PluginError) {
        for seed in seeds {
            let file = seed.path.split(separator: "/").last.map(String.init) ?? seed.path
            let id: String
            // The digest covers the tables too: editing only a CSV table is a new version.
            var tableTexts: [String] = []
            do {
                id = try RulesetParser.compile(text: seed.text, file: seed.path) { path in
                    let text = tableFiles(seed.path, path)
                    tableTexts.append(path + "\n" + (text ?? ""))
                    return text
                }.id
            } catch {
                throw .invalid(error.description)
            }
            let digest = Self.digest(([seed.text] + tableTexts).joined(separator: "\u{0}"))
            // Nodes sharing one bus start together and seed the same file: whoever loses a
            // compare-and-set looks again, and takes what the other published.
            for attempt in 1...50 {
                if let (index, _) = try index(id), index.seedDigest == digest, index.live > 0 { break }
                do {
                    let (_, number) = try create(source: seed.text, file: file, note: "seeded from \(seed.path)") { tableFiles(seed.path, $0) }
                    _ = try publish(id, number)
                    try writes.withLock { _ throws(PluginError) in
                        guard let (found, revision) = try self.index(id) else { return }
                        var index = found
                        index.seedDigest = digest
                        try saveIndex(id, index, revision: revision)
                    }
                    host.log(.info, "ruleset '\(id)': \(seed.path) published as version \(number)")
                    break
                } catch where error.status == 9 && attempt < 50 {
                    usleep(UInt32.random(in: 20_000...100_000))
                }
            }
        }
        for id in try ids() where !current.contains(where: { $0.id == id }) {
            guard let (index, _) = try index(id), index.live > 0 else { continue }
            swapIn(try compile(id, index.live))
        }
    }

    /// Makes live what the KV says is live, for rulesets another hub node published or rolled
    /// back (shared KV). True when something changed.
    func refresh() throws(PluginError) -> Bool {
        var changed = false
        for id in try ids() {
            guard let (index, _) = try index(id), index.live > 0 else { continue }
            if current.first(where: { $0.id == id })?.version == index.live { continue }
            let ruleset: Ruleset
            do throws(PluginError) {
                ruleset = try compile(id, index.live)
            } catch {
                // One ruleset that cannot be read does not hold back the others.
                host.log(.warn, "ruleset '\(id)': version \(index.live), published on another node, cannot be made live here: \(error.message)")
                continue
            }
            let swapped = try writes.withLock { _ throws(PluginError) -> Bool in
                // A publish on this node may have just moved it: only the KV's live version goes in.
                guard let (now, _) = try self.index(id), now.live == index.live else { return false }
                swapIn(ruleset)
                return true
            }
            if swapped {
                changed = true
                host.log(.info, "ruleset '\(id)': version \(index.live) is live (published on another node)")
            }
        }
        return changed
    }

    /// Compiles the seeds and makes them live, storing nothing (hosts without KV).
    func startWithoutKV(seeds: [(path: String, text: String)], tableFiles: @escaping (String, String) -> String?) throws(PluginError) {
        for seed in seeds {
            do {
                swapIn(try RulesetParser.compile(text: seed.text, file: seed.path) { tableFiles(seed.path, $0) })
            } catch {
                throw .invalid(error.description)
            }
        }
    }

    /// FNV-1a, enough to notice an edited seed file.
    static func digest(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return String(hash, radix: 16)
    }
}
