import CHubABI
import Foundation
import HubPluginKit
import HubRules
import Synchronization

/// The rule engine plugin: rulesets written by business users (docs/rules.md), versioned in
/// the host's durable KV, published hot through admin commands, evaluated compiled.
///
/// Config: `rulesets: [paths]` seed rulesets (published at start when new or edited);
/// `snapshot_interval_ms` (default 1000) how often velocity windows are saved.
final class RulesEngine: RulesPlugin {
    let host: HostServices
    let store: RulesetStore
    let state: RuleState
    let ledger: KVLedger
    let manifestDir: String
    /// Where a ruleset sent over HTTP finds its csv_file tables: the manifest's folder, then
    /// the folders of the seed rulesets.
    let tableFolders: [String]
    private let stopping = Atomic<Bool>(false)
    /// Held while the snapshot timer works, so shutdown never overlaps it.
    private let background = Mutex<Void>(())
    private let windowsDirty = Atomic<Bool>(false)
    /// The KV is shared with other hub nodes: windows live there, and rulesets another node
    /// publishes are picked up on each tick.
    private let shared: Bool
    /// Set by quiesce (hot swap); cleared when the instance serves again.
    private let quiesced = Atomic<Bool>(false)
    private let evaluated: HostServices.Metric?
    /// The longest velocity window of any live rule: snapshots keep nothing older.
    private let horizon = Atomic<Int64>(86_400_000_000_000)

    init(context: PluginContext) throws(PluginError) {
        host = context.host
        for member in context.config.objectValue ?? [] where !member.key.hasPrefix("_") && !["rulesets", "snapshot_interval_ms", "velocity_scope"].contains(member.key) {
            throw .invalid("config: unknown key '\(member.key)' (known: rulesets, snapshot_interval_ms, velocity_scope)")
        }
        // On hub nodes sharing a bus, velocity counts every node's orders ("cluster", exact, a KV
        // round trip per velocity rule per order) unless the admin chooses per-node counting.
        let scope = context.config["velocity_scope"].map { $0.stringValue ?? "\($0)" } ?? "cluster"
        guard ["cluster", "node"].contains(scope) else {
            throw .invalid("config.velocity_scope: '\(scope)' is not one of cluster, node")
        }
        manifestDir = context.config["_manifest_dir"]?.stringValue ?? ""
        store = RulesetStore(host: context.host)
        ledger = KVLedger(host: context.host)
        let windows = VelocityWindows()
        // Nodes sharing one bus count velocity in the shared KV; a lone hub in memory.
        shared = context.host.kvShared
        let countShared = shared && scope == "cluster"
        state = RuleState(ledger: ledger, windows: windows, velocity: countShared ? SharedVelocity(host: context.host, fallback: windows) : nil)
        var seeds: [(path: String, text: String)] = []
        var folders = [context.config["_manifest_dir"]?.stringValue ?? ""]
        for (index, entry) in (context.config["rulesets"]?.arrayValue ?? []).enumerated() {
            guard let path = entry.stringValue else { throw .invalid("config.rulesets[\(index)]: must be a path to a ruleset file") }
            let resolved = context.resolvePath(path)
            seeds.append((resolved, String(decoding: try PluginFiles.read(resolved), as: UTF8.self)))
            folders.append(resolved.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/"))
        }
        tableFolders = folders
        do {
            try store.start(seeds: seeds) { rulesetPath, tablePath in Self.readTable(tablePath, besides: rulesetPath) }
        } catch where error.status == HUB_UNSUPPORTED {
            // No durable KV (e.g. `orderhub check`, which runs plugins without a bus): the seeds
            // are still compiled, so a broken ruleset is reported, but nothing can be published.
            try store.startWithoutKV(seeds: seeds) { rulesetPath, tablePath in Self.readTable(tablePath, besides: rulesetPath) }
            context.host.log(.warn, "rules: the host offers no durable KV; seed rulesets are live but versions, publishing and promotion limits are unavailable")
        }

        evaluated = try? context.host.defineMetric("rules_evaluated_total", kind: .counter, help: "Orders judged by the rules")
        let interval = context.config["snapshot_interval_ms"]?.intValue ?? 1000
        // The horizon comes from the live rules' longest window, so it is known before the restore.
        updateHorizon()
        if let (bytes, _) = try? context.host.kvGet("velocity/snapshot") {
            try? state.windows.restore(bytes, horizon: Int64(context.host.wallNanos()) - horizon.load(ordering: .relaxed))
        }
        scheduleSnapshots(every: max(50, Int(interval)))
        let live = store.current
        context.host.log(.info, "rules: \(live.count) live ruleset(s): \(live.map { "\($0.id) v\($0.version) (\($0.rules.count) rules)" }.joined(separator: ", "))")
    }

    /// The last save, while the host and its bus still exist: windows, given counts, and the
    /// unused rest of promotion blocks. Waits for a snapshot in progress; none starts after.
    func shutdown() {
        background.withLock { _ in
            stopping.store(true, ordering: .releasing)
            // Given counts and unused blocks go back either way (after a hot swap they moved to
            // the successor, so there is nothing left to give back).
            defer { ledger.flush(release: true) }
            // Replaced by a hot swap: the successor owns the windows now; a late save here
            // would overwrite its newer snapshot.
            guard !quiesced.load(ordering: .acquiring) else { return }
            saveWindows()
        }
    }

    /// Hot swap: the successor gets the windows and the leases through export_state, with no
    /// durable write while orders wait; this only marks the instance, so its last save at
    /// destroy does not overwrite the successor's windows. The snapshot timer goes on (if the
    /// swap fails this instance serves on), and a later evaluate clears the mark.
    func quiesce(deadline: UInt64) throws(PluginError) {
        // Not under `background`: a snapshot being saved (a durable write) would hold the swap.
        quiesced.store(true, ordering: .releasing)
    }

    static func readTable(_ path: String, besides rulesetPath: String) -> String? {
        let base = rulesetPath.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        let full = path.hasPrefix("/") || base.isEmpty ? path : base + "/" + path
        return (try? PluginFiles.read(full)).map { String(decoding: $0, as: UTF8.self) }
    }

    func evaluate(_ order: OrderView) throws(PluginError) -> [UInt8] {
        evaluated?.record(1)
        if quiesced.load(ordering: .relaxed) { quiesced.store(false, ordering: .releasing) }
        let rulesets = store.current
        let document: RuleDocument
        do {
            let json = try JSONParser.parse(order.json.array)
            let context = order.context.isEmpty ? nil : try JSONParser.parse(order.context.array)
            document = RuleDocument(json, extras: context?["predictions"].map { [("predictions", $0)] } ?? [])
        } catch {
            throw .invalid("order \(order.id): JSON the rules cannot read: \(error)")
        }
        let now = Int64(host.wallNanos())
        var outcome = RuleOutcome()
        for ruleset in rulesets {
            let result = ruleset.evaluate(document, state: state, nowNanos: now)
            if ruleset.rules.contains(where: { $0.velocity != nil }) { windowsDirty.store(true, ordering: .relaxed) }
            outcome.merge(result)
        }
        // Several rulesets never discount more than the items are worth together.
        let discountable = order.items.reduce(Int64(0)) { $0 + ($1.excludedFromDiscounts ? 0 : $1.lineTotalMinor) }
        outcome.discountMinor = min(outcome.discountMinor, max(0, discountable))
        return outcome.json(rulesets: rulesets.map { ($0.id, $0.version) })
    }

    // MARK: Velocity windows survive restarts and hot swaps

    private func updateHorizon() {
        let longest = store.current.flatMap(\.rules).compactMap { $0.velocity?.windowNanos }.max() ?? 0
        horizon.store(max(longest, 1_000_000_000), ordering: .relaxed)
    }

    private func scheduleSnapshots(every milliseconds: Int) {
        DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + .milliseconds(milliseconds)) { [weak self] in
            guard let self else { return }
            let again = self.background.withLock { _ -> Bool in
                // After shutdown the host may be gone: no host call from here on.
                guard !self.stopping.load(ordering: .acquiring) else { return false }
                if self.shared { self.followPublishes() }
                if self.windowsDirty.exchange(false, ordering: .acquiringAndReleasing) && !(self.state.velocity is SharedVelocity) {
                    self.state.windows.prune(olderThan: Int64(self.host.wallNanos()) - self.horizon.load(ordering: .relaxed))
                    self.saveWindows()
                }
                self.ledger.flush(release: false)
                return true
            }
            if again { self.scheduleSnapshots(every: milliseconds) }
        }
    }

    /// Another node published or rolled back a ruleset: make its live version live here too.
    private func followPublishes() {
        do throws(PluginError) {
            if try store.refresh() { updateHorizon() }
        } catch {
            host.log(.warn, "rules: could not check for rulesets published by other nodes: \(error.message)")
        }
    }

    func saveWindows() {
        _ = try? host.kvPut("velocity/snapshot", state.windows.snapshot(), expectedRevision: UInt64.max)
    }

    /// Schema 4: u32 length + the velocity windows in binary (VelocityWindows.handOver),
    /// then the promotion blocks held, as JSON. The leases move (this instance no longer holds
    /// them); the windows are copied.
    func exportState() throws(PluginError) -> (bytes: [UInt8], schema: UInt32)? {
        let windows = state.windows.handOver()
        var bytes = withUnsafeBytes(of: UInt32(windows.count).littleEndian) { Array($0) }
        bytes += windows
        bytes += ledger.handOver()
        return (bytes, 4)
    }

    /// Takes a predecessor's state (schema 4, 3: JSON, or 2: windows only), merged with this
    /// instance's own: windows are joined, leases added.
    func importState(_ bytes: [UInt8], schema: UInt32) throws(PluginError) {
        let horizon = Int64(host.wallNanos()) - horizon.load(ordering: .relaxed)
        do {
            switch schema {
            case 2: try state.windows.merge(bytes, horizon: horizon)
            case 4:
                guard bytes.count >= 4 else { throw PluginError.invalid("rules state schema 4: too short") }
                let length = Int(UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24)
                guard 4 + length <= bytes.count else { throw PluginError.invalid("rules state schema 4: windows run past the end") }
                try state.windows.merge(handOver: Array(bytes[4..<4 + length]), horizon: horizon)
                if 4 + length < bytes.count { ledger.adopt(try JSONParser.parse(Array(bytes[(4 + length)...]))) }
            case 3:
                let document = try JSONParser.parse(bytes)
                var windows = JSONWriter()
                windows.value(document["windows"] ?? .object([]))
                try state.windows.merge(windows.bytes, horizon: horizon)
                if let leases = document["leases"] { ledger.adopt(leases) }
            default:
                throw PluginError.invalid("rules state schema \(schema) is not understood (this version reads 2, 3 and 4)")
            }
        } catch let error as PluginError {
            throw error
        } catch {
            throw .invalid("rules state: \(error)")
        }
        windowsDirty.store(true, ordering: .relaxed)
    }

    func health() -> JSONValue? {
        .object([
            ("rulesets", .array(store.current.map { set in
                .object([("id", .string(set.id)), ("version", .number(String(set.version))), ("rules", .number(String(set.rules.count)))])
            })),
            ("velocity_keys", .number(String(state.windows.keyCount))),
        ])
    }

    func published(_ ruleset: Ruleset) { updateHorizon() }
}
