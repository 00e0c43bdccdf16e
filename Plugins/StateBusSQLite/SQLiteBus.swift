import HubJSON
import HubPluginKit
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The embedded state bus: an append-only event log in SQLite (WAL), an order-state
/// projection, idempotency records and per-plugin KV, all in one file.
///
/// Writes are lean on purpose: one row per order per append (its events in EventRecord's
/// compact encoding; CloudEvents JSON is rendered when the log is read), one projection row per
/// order, so a group commit of N orders costs about 2N row writes and one fsync.
final class SQLiteBus: StateBusPlugin {
    /// 2: events stored in EventRecord's compact encoding (1 stored CloudEvents JSON).
    static let schemaVersion = 2
    private let store: Mutex<Store>
    private let checkpointer: Checkpointer

    init(context: PluginContext) throws(PluginError) {
        let config = context.config
        for member in config.objectValue ?? [] where !member.key.hasPrefix("_") {
            guard ["path", "synchronous"].contains(member.key) else {
                throw .invalid("config: unknown key '\(member.key)' (known: path, synchronous)")
            }
        }
        guard let path = config["path"]?.stringValue, !path.isEmpty else {
            throw .invalid("config.path: required, the SQLite file to keep the event log in")
        }
        let synchronous = config["synchronous"]?.stringValue ?? "full"
        guard ["full", "normal"].contains(synchronous) else {
            throw .invalid("config.synchronous: '\(synchronous)' is not one of full, normal")
        }
        let resolved = context.resolvePath(path)
        Self.makeParentDirectory(of: resolved)
        store = Mutex(try Store(path: resolved, synchronous: synchronous))
        let host = context.host
        checkpointer = try Checkpointer(path: resolved, intervalMillis: 100) { host.log(.warn, $0) }
    }

    func append(_ events: [EventView], _ records: [IdempotencyRecordView]) throws(PluginError) -> UInt64 {
        try store.withLock { store throws(PluginError) in try store.append(events, records) }
    }

    func orderState(_ orderID: String) throws(PluginError) -> (state: String, sequence: UInt64)? {
        try store.withLock { store throws(PluginError) in try store.orderState(orderID) }
    }

    func timeline(_ orderID: String) throws(PluginError) -> [UInt8]? {
        try store.withLock { store throws(PluginError) in try store.timeline(orderID) }
    }

    func read(after offset: UInt64, max: Int) throws(PluginError) -> (json: [UInt8], next: UInt64) {
        try store.withLock { store throws(PluginError) in try store.read(after: offset, max: max) }
    }

    func idempotencyRecord(_ key: String) throws(PluginError) -> [UInt8]? {
        try store.withLock { store throws(PluginError) in try store.idempotencyRecord(key) }
    }

    func orders(inState state: String, max: Int) throws(PluginError) -> [UInt8] {
        try store.withLock { store throws(PluginError) in try store.orders(inState: state, max: max) }
    }

    func kvGet(namespace: String, key: String) throws(PluginError) -> (value: [UInt8], revision: UInt64)? {
        try store.withLock { store throws(PluginError) in try store.kvGet(namespace: namespace, key: key) }
    }

    func kvPut(namespace: String, key: String, value: [UInt8], expectedRevision: UInt64) throws(PluginError) -> UInt64 {
        try store.withLock { store throws(PluginError) in
            try store.kvPut(namespace: namespace, key: key, value: value, expectedRevision: expectedRevision)
        }
    }

    /// One process writes an SQLite bus: the tail is what it is now (nothing to wait for).
    func waitCommits(after: UInt64, timeoutMillis: UInt32) throws(PluginError) -> UInt64 {
        try store.withLock { store throws(PluginError) in try store.tail() }
    }

    func kvScan(afterNamespace: String, afterKey: String, max: Int) throws(PluginError) -> [UInt8] {
        try store.withLock { store throws(PluginError) in try store.kvScan(afterNamespace: afterNamespace, afterKey: afterKey, max: max) }
    }

    func idempotencyScan(after key: String, max: Int) throws(PluginError) -> [UInt8] {
        try store.withLock { store throws(PluginError) in try store.idempotencyScan(after: key, max: max) }
    }

    func flush() throws(PluginError) {
        checkpointer.stop()
        try store.withLock { store throws(PluginError) in try store.database.execute("PRAGMA wal_checkpoint(TRUNCATE)") }
    }

    deinit { checkpointer.stop() }

    /// Creates the database's folder if it is missing (one level, like `mkdir`).
    private static func makeParentDirectory(of path: String) {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return }
        _ = mkdir(String(path[..<slash]), 0o755)
    }

    func health() -> JSONValue? {
        store.withLock { .object([("path", .string($0.database.path))]) }
    }
}
