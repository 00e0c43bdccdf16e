import BusRecords
import HubJSON
import HubPluginKit

/// The SQLite file and its prepared statements. Used only under SQLiteBus's Mutex.
final class Store {
    let database: Database
    private let insertRecord: Statement
    private let selectOrder: Statement
    private let insertOrder: Statement
    private let updateOrder: Statement
    private let insertIdem: Statement
    private let selectIdem: Statement
    private let selectTimeline: Statement
    private let selectFrom: Statement
    private let selectByState: Statement
    private let selectKV: Statement
    private let upsertKV: Statement
    private let selectTail: Statement
    private let scanKV: Statement
    private let scanIdem: Statement

    init(path: String, synchronous: String) throws(PluginError) {
        database = try Database(path: path)
        // Checkpoints run on their own connection (Checkpointer), never inside a commit.
        // 16 KiB pages hold several order records each (one record is ~2.5 KB; with 4 KiB pages
        // each took a page of its own). Takes effect only when the file is created.
        try database.execute("PRAGMA page_size=16384; PRAGMA journal_mode=WAL; PRAGMA synchronous=\(synchronous.uppercased()); PRAGMA wal_autocheckpoint=0;")
        try Self.migrate(database)
        insertRecord = try database.prepare("INSERT INTO records(subject, seq_first, seq_last, events) VALUES(?1, ?2, ?3, ?4)")
        selectOrder = try database.prepare("SELECT state, seq FROM orders WHERE id = ?1")
        insertOrder = try database.prepare("INSERT INTO orders(id, state, seq, updated_ns) VALUES(?1, ?2, ?3, ?4)")
        updateOrder = try database.prepare("UPDATE orders SET state = ?2, seq = ?3, updated_ns = ?4 WHERE id = ?1")
        insertIdem = try database.prepare(
            "INSERT INTO idempotency(key, subject, fingerprint, response) VALUES(?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING")
        selectIdem = try database.prepare("SELECT subject, fingerprint, response FROM idempotency WHERE key = ?1")
        selectTimeline = try database.prepare("SELECT events FROM records WHERE subject = ?1 ORDER BY offset")
        selectFrom = try database.prepare("SELECT offset, events FROM records WHERE offset > ?1 ORDER BY offset LIMIT ?2")
        selectByState = try database.prepare("SELECT id FROM orders WHERE state = ?1 ORDER BY updated_ns LIMIT ?2")
        selectKV = try database.prepare("SELECT value, rev FROM kv WHERE ns = ?1 AND key = ?2")
        upsertKV = try database.prepare(
            "INSERT INTO kv(ns, key, value, rev) VALUES(?1, ?2, ?3, ?4) "
                + "ON CONFLICT(ns, key) DO UPDATE SET value = excluded.value, rev = excluded.rev")
        selectTail = try database.prepare("SELECT coalesce(max(offset), 0) FROM records")
        scanKV = try database.prepare("SELECT ns, key, value, rev FROM kv WHERE (ns, key) > (?1, ?2) ORDER BY ns, key LIMIT ?3")
        scanIdem = try database.prepare(
            "SELECT key, subject, fingerprint, response FROM idempotency WHERE key > ?1 ORDER BY key LIMIT ?2")
    }

    private static func migrate(_ database: Database) throws(PluginError) {
        try database.execute(
            """
            CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
            INSERT OR IGNORE INTO meta(key, value) VALUES('schema_version', '\(SQLiteBus.schemaVersion)');
            CREATE TABLE IF NOT EXISTS records(
                offset INTEGER PRIMARY KEY, subject TEXT NOT NULL,
                seq_first INTEGER NOT NULL, seq_last INTEGER NOT NULL, events BLOB NOT NULL);
            CREATE INDEX IF NOT EXISTS records_by_subject ON records(subject);
            CREATE TABLE IF NOT EXISTS orders(
                id TEXT PRIMARY KEY, state TEXT NOT NULL, seq INTEGER NOT NULL, updated_ns INTEGER NOT NULL) WITHOUT ROWID;
            DROP INDEX IF EXISTS orders_by_state;
            CREATE INDEX IF NOT EXISTS orders_by_state_age ON orders(state, updated_ns);
            CREATE TABLE IF NOT EXISTS idempotency(
                key TEXT PRIMARY KEY, subject TEXT NOT NULL, fingerprint TEXT NOT NULL, response BLOB NOT NULL) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS kv(
                ns TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, rev INTEGER NOT NULL,
                PRIMARY KEY(ns, key)) WITHOUT ROWID;
            """)
        let version = try database.prepare("SELECT value FROM meta WHERE key = 'schema_version'")
        guard try version.step(), let found = Int(version.text(0)) else { throw .internalError("schema_version missing") }
        version.reset()
        if found < SQLiteBus.schemaVersion {
            throw .invalid(
                "'\(database.path)' has schema version \(found) from a pre-release build; this plugin reads version "
                    + "\(SQLiteBus.schemaVersion). Start with a new file (there is no migration for pre-release data)")
        }
        if found > SQLiteBus.schemaVersion {
            throw .invalid(
                "'\(database.path)' has schema version \(found), this plugin understands up to \(SQLiteBus.schemaVersion): "
                    + "use a newer orderhub.bus.sqlite")
        }
    }

    // MARK: Append

    func append(_ events: [EventView], _ records: [IdempotencyRecordView]) throws(PluginError) -> UInt64 {
        try database.execute("BEGIN IMMEDIATE")
        do throws(PluginError) {
            for record in records { try insertIdempotency(record) }
            for group in BusRecords.groupBySubject(events) { try appendGroup(group) }
            try database.execute("COMMIT")
            return UInt64(database.lastInsertRowID)
        } catch {
            try? database.execute("ROLLBACK")
            throw error
        }
    }

    private func insertIdempotency(_ record: IdempotencyRecordView) throws(PluginError) {
        insertIdem.bind(1, utf8: record.key.raw)
        insertIdem.bind(2, utf8: record.subject.raw)
        insertIdem.bind(3, utf8: record.fingerprint.raw)
        insertIdem.bind(4, blob: record.response.raw)
        try insertIdem.run()
        if database.changes == 0 {
            throw PluginError(9 /* HUB_CONFLICT */, "idempotency key '\(record.key.string)' is already recorded")
        }
    }

    private func appendGroup(_ group: [EventView]) throws(PluginError) {
        let subject = group[0].subject.string
        let first = group[0].sequence
        let last = group[group.count - 1].sequence
        if !subject.isEmpty { try advanceOrder(subject, group: group, first: first, last: last) }
        let blob = BusRecords.encode(group)
        insertRecord.bind(1, utf8: group[0].subject.raw)
        insertRecord.bind(2, Int64(first))
        insertRecord.bind(3, Int64(last))
        blob.withUnsafeBytes { insertRecord.bind(4, blob: $0) }
        try insertRecord.run()
    }

    /// Moves the projection forward, refusing a sequence that does not follow on.
    private func advanceOrder(_ subject: String, group: [EventView], first: UInt64, last: UInt64) throws(PluginError) {
        let newState = group.last(where: { !$0.state.isEmpty })?.state.string
        let now = group[group.count - 1].timeUnixNanos
        if first == 1 {
            // A new order: insert directly; the primary key refuses an id that exists.
            insertOrder.bind(1, subject)
            insertOrder.bind(2, newState ?? "unknown")
            insertOrder.bind(3, Int64(last))
            insertOrder.bind(4, now)
            do throws(PluginError) {
                try insertOrder.run()
            } catch {
                throw PluginError(9, "order \(subject): first sequence is 1 but the order already exists (\(error.message))")
            }
            return
        }
        selectOrder.bind(1, subject)
        defer { selectOrder.reset() }
        if try selectOrder.step() {
            let current = UInt64(selectOrder.int64(1))
            let state = newState ?? selectOrder.text(0)
            guard first == current + 1 else {
                throw PluginError(9, "order \(subject): sequence \(first) does not follow \(current)")
            }
            updateOrder.bind(1, subject)
            updateOrder.bind(2, state)
            updateOrder.bind(3, Int64(last))
            updateOrder.bind(4, now)
            try updateOrder.run()
        } else {
            guard first == 1 else { throw PluginError(9, "order \(subject): first sequence is \(first), expected 1") }
            insertOrder.bind(1, subject)
            insertOrder.bind(2, newState ?? "unknown")
            insertOrder.bind(3, Int64(last))
            insertOrder.bind(4, now)
            try insertOrder.run()
        }
    }

    // MARK: Queries

    func orderState(_ orderID: String) throws(PluginError) -> (state: String, sequence: UInt64)? {
        selectOrder.bind(1, orderID)
        defer { selectOrder.reset() }
        guard try selectOrder.step() else { return nil }
        return (selectOrder.text(0), UInt64(selectOrder.int64(1)))
    }

    func timeline(_ orderID: String) throws(PluginError) -> [UInt8]? {
        selectTimeline.bind(1, orderID)
        defer { selectTimeline.reset() }
        var events: [EventRecord.Fields] = []
        var found = false
        while try selectTimeline.step() {
            found = true
            events.append(contentsOf: try BusRecords.decode(selectTimeline.blob(0), at: "order \(orderID)"))
        }
        return found ? BusRecords.render(events) : nil
    }

    func read(after offset: UInt64, max: Int) throws(PluginError) -> (json: [UInt8], next: UInt64) {
        selectFrom.bind(1, Int64(offset))
        selectFrom.bind(2, Int64(Swift.max(1, max)))
        defer { selectFrom.reset() }
        var pages: [(offset: UInt64, events: [EventRecord.Fields])] = []
        var next = offset
        while try selectFrom.step() {
            next = UInt64(selectFrom.int64(0))
            pages.append((next, try BusRecords.decode(selectFrom.blob(1), at: "record \(next)")))
        }
        return (BusRecords.page(pages), next)
    }

    func idempotencyRecord(_ key: String) throws(PluginError) -> [UInt8]? {
        selectIdem.bind(1, key)
        defer { selectIdem.reset() }
        guard try selectIdem.step() else { return nil }
        return BusRecords.idempotency(subject: selectIdem.text(0), fingerprint: selectIdem.text(1), response: selectIdem.blob(2))
    }

    func orders(inState state: String, max: Int) throws(PluginError) -> [UInt8] {
        selectByState.bind(1, state)
        selectByState.bind(2, Int64(max))
        defer { selectByState.reset() }
        var ids: [String] = []
        while try selectByState.step() { ids.append(selectByState.text(0)) }
        return BusRecords.strings(ids)
    }

    // MARK: KV

    func kvGet(namespace: String, key: String) throws(PluginError) -> (value: [UInt8], revision: UInt64)? {
        selectKV.bind(1, namespace)
        selectKV.bind(2, key)
        defer { selectKV.reset() }
        guard try selectKV.step() else { return nil }
        return (selectKV.blob(0), UInt64(selectKV.int64(1)))
    }

    func kvPut(namespace: String, key: String, value: [UInt8], expectedRevision: UInt64) throws(PluginError) -> UInt64 {
        let current = try kvGet(namespace: namespace, key: key)?.revision ?? 0
        if expectedRevision != UInt64.max && expectedRevision != current {
            throw PluginError(9, "kv \(namespace)/\(key): revision is \(current), expected \(expectedRevision)")
        }
        upsertKV.bind(1, namespace)
        upsertKV.bind(2, key)
        upsertKV.bind(3, blob: value)
        upsertKV.bind(4, Int64(current + 1))
        try upsertKV.run()
        return current + 1
    }

    // MARK: Tail and scans (ABI 1.3)

    /// The log's last offset (one writer: nothing commits behind the caller's back).
    func tail() throws(PluginError) -> UInt64 {
        defer { selectTail.reset() }
        guard try selectTail.step() else { return 0 }
        return UInt64(selectTail.int64(0))
    }

    func kvScan(afterNamespace: String, afterKey: String, max: Int) throws(PluginError) -> [UInt8] {
        scanKV.bind(1, afterNamespace)
        scanKV.bind(2, afterKey)
        scanKV.bind(3, Int64(Swift.max(1, max)))
        defer { scanKV.reset() }
        var rows: [(namespace: String, key: String, value: [UInt8], revision: UInt64)] = []
        while try scanKV.step() { rows.append((scanKV.text(0), scanKV.text(1), scanKV.blob(2), UInt64(scanKV.int64(3)))) }
        return BusRecords.kvPage(rows)
    }

    func idempotencyScan(after key: String, max: Int) throws(PluginError) -> [UInt8] {
        scanIdem.bind(1, key)
        scanIdem.bind(2, Int64(Swift.max(1, max)))
        defer { scanIdem.reset() }
        var rows: [(key: String, subject: String, fingerprint: String, response: [UInt8])] = []
        while try scanIdem.step() { rows.append((scanIdem.text(0), scanIdem.text(1), scanIdem.text(2), scanIdem.blob(3))) }
        return BusRecords.idempotencyPage(rows)
    }
}
