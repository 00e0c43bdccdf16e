import BusRecords
import HubJSON
import HubPluginKit
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The state bus on PostgreSQL, for hubs that outgrow one machine: the same log, projection,
/// idempotency records and KV as the SQLite bus, in tables several hub nodes share.
///
/// Appends take the `head` row's lock just before they insert their records, so offsets are
/// handed out in commit order: a node that has read up to offset N never sees a record below
/// N appear later (followers and outbox watermarks rely on that). Each append NOTIFYs a
/// channel; `wait_commits` LISTENs on it, so other nodes learn of a commit within a few ms.
final class PostgresBus: StateBusPlugin {
    static var sharedByNodes: Bool { true }

    private let pool: Pool
    private let kvWrites: KVWrites
    private let listener: Mutex<Unowned>
    private let channel: String

    init(context: PluginContext) throws(PluginError) {
        let config = context.config
        let known = ["url", "schema", "pool_size"]
        for member in config.objectValue ?? [] where !member.key.hasPrefix("_") && !known.contains(member.key) {
            throw .invalid("config: unknown key '\(member.key)' (known: \(known.joined(separator: ", ")))")
        }
        guard var url = config["url"]?.stringValue, !url.isEmpty else {
            throw .invalid("config.url: required, a PostgreSQL connection string (postgresql://user@host:5432/db) or env:NAME")
        }
        if url.hasPrefix("env:") {
            let name = String(url.dropFirst(4))
            guard let value = getenv(name).map({ String(cString: $0) }), !value.isEmpty else {
                throw .invalid("config.url: environment variable \(name) is not set")
            }
            url = value
        }
        if let problem = Connection.parseError(url) { throw .invalid("config.url: \(problem)") }
        let schema = config["schema"]?.stringValue ?? "orderhub"
        guard !schema.isEmpty, schema.utf8.count <= 48, schema.utf8.allSatisfy({ $0 == UInt8(ascii: "_") || (0x30...0x39).contains($0) || (0x61...0x7a).contains($0) }) else {
            throw .invalid("config.schema: '\(schema)' must be 1-48 characters of a-z, 0-9 and _")
        }
        let size = config["pool_size"]?.intValue ?? 4
        guard (1...64).contains(size) else { throw .invalid("config.pool_size: \(size) is not between 1 and 64") }
        pool = Pool(conninfo: url, target: Connection.describe(url), schema: schema, size: Int(size))
        channel = "orderhub_bus_\(schema)"
        // The first connection proves the server answers and brings the schema up to date.
        let first = try pool.connect()
        try Schema.prepare(first, schema: schema, target: pool.target)
        listener = Mutex(Unowned(nil))
        kvWrites = KVWrites(pool: pool)
    }

    // MARK: Append

    func append(_ events: [EventView], _ records: [IdempotencyRecordView]) throws(PluginError) -> UInt64 {
        let groups = BusRecords.groupBySubject(events)
        guard !groups.isEmpty || !records.isEmpty else { return try tail() }
        let channel = self.channel
        return try pool.transaction { db throws(SQLError) -> UInt64 in
            if !records.isEmpty { try Self.insertIdempotency(records, db) }
            try Self.advanceOrders(groups, db)
            guard !groups.isEmpty else {
                return UInt64(try db.query("SELECT last_offset FROM head WHERE id = 1").int(0, 0))
            }
            // The head row's lock is taken last and held only to the commit: offsets in commit order.
            let head = try db.query(
                "WITH h AS (UPDATE head SET last_offset = last_offset + $1 WHERE id = 1 RETURNING last_offset) "
                    + "SELECT last_offset, pg_notify($2, last_offset::text)::text FROM h",
                [.int(Int64(groups.count)), .text(channel)])
            let last = UInt64(head.int(0, 0))
            let first = Int64(last) - Int64(groups.count) + 1
            let (values, params) = valuesList(groups.enumerated().map { index, group in
                [.int(first + Int64(index)), .text(group[0].subject.string), .int(Int64(group[0].sequence)),
                 .int(Int64(group[group.count - 1].sequence)), .bytes(BusRecords.encode(group))]
            }, casts: ["::bigint", "", "::bigint", "::bigint", ""])
            let sql = "INSERT INTO records(off, subject, seq_first, seq_last, events) VALUES " + values
            try db.query(sql, params)
            return last
        }
    }

    private static func insertIdempotency(_ records: [IdempotencyRecordView], _ db: Connection) throws(SQLError) {
        let (values, params) = valuesList(records.map {
            [.text($0.key.string), .text($0.subject.string), .text($0.fingerprint.string), .bytes(Array($0.response.raw))]
        }, casts: ["", "", "", ""])
        let inserted = try db.query("INSERT INTO idempotency(key, subject, fingerprint, response) VALUES " + values
            + " ON CONFLICT DO NOTHING RETURNING key", params)
        if let taken = inserted.firstMissing(records.map(\.key.string)) {
            throw SQLError(state: "23505", message: "idempotency key '\(taken)' is already recorded", connectionLost: false)
        }
    }

    /// New orders are inserted; existing ones move on only from the sequence just before
    /// their first event (another node's write in between is a conflict, never a gap).
    private static func advanceOrders(_ groups: [[EventView]], _ db: Connection) throws(SQLError) {
        var fresh: [(id: String, state: String, last: UInt64, time: Int64)] = []
        var moved: [(id: String, state: String, first: UInt64, last: UInt64, time: Int64)] = []
        for group in groups {
            let subject = group[0].subject.string
            guard !subject.isEmpty else { continue }
            let state = group.last(where: { !$0.state.isEmpty })?.state.string ?? ""
            let (first, last) = (group[0].sequence, group[group.count - 1].sequence)
            let time = group[group.count - 1].timeUnixNanos
            if first == 1 { fresh.append((subject, state.isEmpty ? "unknown" : state, last, time)) } else { moved.append((subject, state, first, last, time)) }
        }
        if !fresh.isEmpty {
            let (values, params) = valuesList(fresh.map { [.text($0.id), .text($0.state), .int(Int64($0.last)), .int($0.time)] },
                                              casts: ["", "", "::bigint", "::bigint"])
            let inserted = try db.query("INSERT INTO orders(id, state, seq, updated_ns) VALUES " + values + " ON CONFLICT DO NOTHING RETURNING id", params)
            if let id = inserted.firstMissing(fresh.map(\.id)) {
                throw SQLError(state: "23505", message: "order \(id): first sequence is 1 but the order already exists", connectionLost: false)
            }
        }
        if !moved.isEmpty {
            let (values, params) = valuesList(moved.map { [.text($0.id), .text($0.state), .int(Int64($0.first)), .int(Int64($0.last)), .int($0.time)] },
                                              casts: ["::text", "::text", "::bigint", "::bigint", "::bigint"])
            let updated = try db.query(
                "UPDATE orders AS o SET state = coalesce(nullif(v.state, ''), o.state), seq = v.last, updated_ns = v.ns FROM (VALUES " + values
                    + ") AS v(id, state, first, last, ns) WHERE o.id = v.id AND o.seq = v.first - 1 RETURNING o.id", params)
            if let id = updated.firstMissing(moved.map(\.id)) {
                let first = moved.first { $0.id == id }?.first ?? 0
                throw SQLError(state: "23505", message: "order \(id): sequence \(first) does not follow the stored one "
                    + "(another writer moved it, or it does not exist)", connectionLost: false)
            }
        }
    }

    // MARK: Queries

    func orderState(_ orderID: String) throws(PluginError) -> (state: String, sequence: UInt64)? {
        try pool.read { db throws(SQLError) in
            let rows = try db.query("SELECT state, seq FROM orders WHERE id = $1", [.text(orderID)], prepare: true)
            return rows.count == 0 ? nil : (rows.text(0, 0), UInt64(rows.int(0, 1)))
        }
    }

    func timeline(_ orderID: String) throws(PluginError) -> [UInt8]? {
        let rows = try pool.read { db throws(SQLError) in
            try db.query("SELECT events FROM records WHERE subject = $1 ORDER BY off", [.text(orderID)], prepare: true)
        }
        guard rows.count > 0 else { return nil }
        var events: [EventRecord.Fields] = []
        for row in 0..<rows.count { events += try BusRecords.decode(rows.bytes(row, 0), at: "order \(orderID)") }
        return BusRecords.render(events)
    }

    func read(after offset: UInt64, max: Int) throws(PluginError) -> (json: [UInt8], next: UInt64) {
        let rows = try pool.read { db throws(SQLError) in
            try db.query("SELECT off, events FROM records WHERE off > $1::bigint ORDER BY off LIMIT $2::bigint",
                         [.int(Int64(offset)), .int(Int64(Swift.max(1, max)))])
        }
        var pages: [(offset: UInt64, events: [EventRecord.Fields])] = []
        var next = offset
        for row in 0..<rows.count {
            next = UInt64(rows.int(row, 0))
            pages.append((next, try BusRecords.decode(rows.bytes(row, 1), at: "record \(next)")))
        }
        return (BusRecords.page(pages), next)
    }

    func idempotencyRecord(_ key: String) throws(PluginError) -> [UInt8]? {
        try pool.read { db throws(SQLError) in
            let rows = try db.query("SELECT subject, fingerprint, response FROM idempotency WHERE key = $1", [.text(key)], prepare: true)
            return rows.count == 0 ? nil : BusRecords.idempotency(subject: rows.text(0, 0), fingerprint: rows.text(0, 1), response: rows.bytes(0, 2))
        }
    }

    func orders(inState state: String, max: Int) throws(PluginError) -> [UInt8] {
        try pool.read { db throws(SQLError) in
            let rows = try db.query("SELECT id FROM orders WHERE state = $1 ORDER BY updated_ns LIMIT $2::bigint", [.text(state), .int(Int64(max))])
            return BusRecords.strings((0..<rows.count).map { rows.text($0, 0) })
        }
    }

    // MARK: KV (compare-and-set in one statement: exact across nodes)

    func kvGet(namespace: String, key: String) throws(PluginError) -> (value: [UInt8], revision: UInt64)? {
        try pool.read { db throws(SQLError) in
            let rows = try db.query("SELECT value, rev FROM kv WHERE ns = $1 AND key = $2", [.text(namespace), .text(key)], prepare: true)
            return rows.count == 0 ? nil : (rows.bytes(0, 0), UInt64(rows.int(0, 1)))
        }
    }

    func kvPut(namespace: String, key: String, value: [UInt8], expectedRevision: UInt64) throws(PluginError) -> UInt64 {
        guard let revision = try kvWrites.put(namespace: namespace, key: key, value: value, expected: expectedRevision) else {
            let current = try kvGet(namespace: namespace, key: key)?.revision ?? 0
            throw PluginError(9, "kv \(namespace)/\(key): revision is \(current), expected \(expectedRevision)")
        }
        return revision
    }

    deinit { kvWrites.stop() }

    func flush() throws(PluginError) {}  // every append is durable at COMMIT

    // MARK: Following other nodes (ABI 1.3)

    private func tail() throws(PluginError) -> UInt64 {
        try pool.with { db throws(SQLError) in UInt64(try db.query("SELECT last_offset FROM head WHERE id = 1").int(0, 0)) }
    }

    /// LISTENs on the bus's channel on a connection of its own: checks the head, then sleeps
    /// until a NOTIFY (sent inside every append's transaction) or the timeout.
    func waitCommits(after: UInt64, timeoutMillis: UInt32) throws(PluginError) -> UInt64 {
        try listener.withLock { slot throws(PluginError) -> UInt64 in
            if slot.connection == nil || slot.connection!.isBroken {
                slot = Unowned(nil)
                let connection = try pool.connect()
                do throws(SQLError) { try connection.execute("LISTEN \(channel)") } catch { throw error.pluginError }
                slot = Unowned(connection)
            }
            let connection = slot.connection!
            let deadline = MonotonicClock.monotonicMillis() + UInt64(timeoutMillis)
            do throws(SQLError) {
                while true {
                    let tail = UInt64(try connection.query("SELECT last_offset FROM head WHERE id = 1").int(0, 0))
                    let now = MonotonicClock.monotonicMillis()
                    if tail > after || now >= deadline { return tail }
                    _ = try connection.awaitNotification(timeoutMillis: Int32(min(deadline - now, 1_000)))
                }
            } catch {
                if error.connectionLost { slot = Unowned(nil) }
                throw error.pluginError
            }
        }
    }

    func kvScan(afterNamespace: String, afterKey: String, max: Int) throws(PluginError) -> [UInt8] {
        try pool.read { db throws(SQLError) in
            let rows = try db.query("SELECT ns, key, value, rev FROM kv WHERE (ns, key) > ($1, $2) ORDER BY ns, key LIMIT $3::bigint",
                                    [.text(afterNamespace), .text(afterKey), .int(Int64(Swift.max(1, max)))])
            return BusRecords.kvPage((0..<rows.count).map { (rows.text($0, 0), rows.text($0, 1), rows.bytes($0, 2), UInt64(rows.int($0, 3))) })
        }
    }

    func idempotencyScan(after key: String, max: Int) throws(PluginError) -> [UInt8] {
        try pool.read { db throws(SQLError) in
            let rows = try db.query("SELECT key, subject, fingerprint, response FROM idempotency WHERE key > $1 ORDER BY key LIMIT $2::bigint",
                                    [.text(key), .int(Int64(Swift.max(1, max)))])
            return BusRecords.idempotencyPage((0..<rows.count).map { (rows.text($0, 0), rows.text($0, 1), rows.text($0, 2), rows.bytes($0, 3)) })
        }
    }

    func health() -> JSONValue? {
        let error = pool.lastError.withLock { $0 }
        var members: [(String, JSONValue)] = [("status", .string(error.isEmpty ? "ok" : "down")), ("server", .string(pool.target)), ("schema", .string(pool.schema))]
        members.append(("connected", .bool(error.isEmpty)))
        if !error.isEmpty { members.append(("error", .string(error))) }
        return .object(members)
    }
}

/// Monotonic milliseconds (CLOCK_MONOTONIC), for wait deadlines.
enum MonotonicClock {
    static func monotonicMillis() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000 + UInt64(now.tv_nsec) / 1_000_000
    }
}
