import CLibPQ
import HubPluginKit

#if canImport(Glibc)
import Glibc
#endif

/// One value sent with a statement: text for everything PostgreSQL converts from text
/// (numbers included), binary for bytea so blobs are never escaped.
enum SQLParam {
    case text(String)
    case bytes([UInt8])

    static func int(_ value: Int64) -> SQLParam { .text(String(value)) }
}

/// The rows of one answer, in binary result format: int8 is 8 bytes big-endian, text and
/// bytea are their bytes. Queries cast what they select to one of those three.
struct SQLRows {
    fileprivate let rows: [[[UInt8]?]]
    var count: Int { rows.count }
    func bytes(_ row: Int, _ column: Int) -> [UInt8] { row < rows.count && column < rows[row].count ? rows[row][column] ?? [] : [] }
    func text(_ row: Int, _ column: Int) -> String { String(decoding: bytes(row, column), as: UTF8.self) }
    func int(_ row: Int, _ column: Int) -> Int64 {
        guard row < rows.count, column < rows[row].count, let raw = rows[row][column], raw.count == 8 else { return 0 }
        return raw.reduce(Int64(0)) { $0 << 8 | Int64($1) }
    }
}

extension SQLRows {
    /// The first of `keys` that column 0 of these rows (a RETURNING list) does not hold.
    func firstMissing(_ keys: [String]) -> String? {
        let returned = Set((0..<count).map { text($0, 0) })
        return keys.first { !returned.contains($0) }
    }
}

/// A multi-row VALUES list: "($1::bigint,$2),($3::bigint,$4)" and its parameters, one
/// statement for a whole batch. `casts` gives each column's cast ("" for none).
func valuesList(_ rows: [[SQLParam]], casts: [String]) -> (sql: String, params: [SQLParam]) {
    var sql = ""
    var params: [SQLParam] = []
    params.reserveCapacity(rows.count * casts.count)
    for (index, row) in rows.enumerated() {
        sql += index == 0 ? "(" : ",("
        for (column, param) in row.enumerated() {
            params.append(param)
            sql += (column == 0 ? "$" : ",$") + String(params.count) + casts[column]
        }
        sql += ")"
    }
    return (sql, params)
}

/// Why a statement failed, with PostgreSQL's SQLSTATE: the bus maps it to an ABI status
/// (a lost connection is HUB_AGAIN, a unique violation HUB_CONFLICT).
struct SQLError: Error {
    let state: String
    let message: String
    /// The connection itself is gone (server down, network cut): reconnect before reuse.
    let connectionLost: Bool

    static let lostPrefix = "PostgreSQL connection lost: "
    var isUniqueViolation: Bool { state == "23505" }
    var isSerialization: Bool { state == "40001" || state == "40P01" }

    var pluginError: PluginError {
        if connectionLost { return .again(Self.lostPrefix + message) }
        if isUniqueViolation || isSerialization { return PluginError(9 /* HUB_CONFLICT */, message) }
        return .internalError("PostgreSQL error \(state): \(message)")
    }
}

/// A thin owner of one libpq connection. Not thread-safe: the pool hands it to one caller at
/// a time. This file is the plugin's only unsafe pointer work against libpq.
final class Connection {
    private let handle: OpaquePointer
    let target: String
    /// Statements prepared on this connection (by SQL text): parsed and planned once, not per call.
    private var prepared: [String: String] = [:]

    /// Connects, or throws HUB_AGAIN naming the server and libpq's reason.
    init(conninfo: String, target: String) throws(PluginError) {
        self.target = target
        // Defaults first, then the admin's string (expanded, it overrides them): without them a
        // database behind a dead network holds a call for minutes (TCP timeouts), not seconds.
        let keywords = ["connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout",
                        "application_name", "dbname"]
        let values = ["5", "1", "10", "5", "3", "15000", "orderhub", conninfo]
        let made: OpaquePointer? = Self.withCStrings(keywords) { k in Self.withCStrings(values) { v in PQconnectdbParams(k, v, 1) } }
        guard let connection = made else { throw .again("cannot connect to PostgreSQL at \(target): out of memory") }
        guard PQstatus(connection) == CONNECTION_OK else {
            let reason = Self.clean(String(cString: PQerrorMessage(connection)))
            PQfinish(connection)
            throw .again("cannot connect to PostgreSQL at \(target): \(reason)")
        }
        // Server notices ("relation already exists, skipping") are not for the hub's log.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        handle = connection
    }

    deinit { PQfinish(handle) }

    /// A NULL-terminated array of C strings, valid for `body`.
    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
        let copies = strings.map { strdup($0) }
        defer { copies.forEach { free($0) } }
        let pointers: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } } + [nil]
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    var isBroken: Bool { PQstatus(handle) != CONNECTION_OK }

    /// Runs one statement (no parameters, several statements allowed), discarding rows.
    func execute(_ sql: String) throws(SQLError) {
        let result = PQexec(handle, sql)
        defer { PQclear(result) }
        try check(result, sql)
    }

    /// Runs one statement with parameters; rows come back in binary format. `prepare`: a
    /// statement of fixed shape run often (reads, KV) is prepared once per connection.
    @discardableResult
    func query(_ sql: String, _ params: [SQLParam] = [], prepare: Bool = false) throws(SQLError) -> SQLRows {
        var name: String?
        if prepare {
            if let known = prepared[sql] { name = known } else {
                let fresh = "s\(prepared.count)"
                let made = PQprepare(handle, fresh, sql, Int32(params.count), nil)
                defer { PQclear(made) }
                try check(made, sql)
                prepared[sql] = fresh
                name = fresh
            }
        }
        var values: [UnsafeMutablePointer<CChar>?] = []
        var lengths: [Int32] = []
        var formats: [Int32] = []
        defer { for value in values { free(value) } }
        for param in params {
            switch param {
            case .text(let text):
                values.append(strdup(text))
                lengths.append(0)
                formats.append(0)
            case .bytes(let bytes):
                let copy = malloc(max(bytes.count, 1))!.assumingMemoryBound(to: CChar.self)
                bytes.withUnsafeBytes { raw in if let base = raw.baseAddress { memcpy(copy, base, bytes.count) } }
                values.append(copy)
                lengths.append(Int32(bytes.count))
                formats.append(1)
            }
        }
        let result = values.withUnsafeBufferPointer { valuePointers in
            valuePointers.withMemoryRebound(to: UnsafePointer<CChar>?.self) { rebound in
                if let name { return PQexecPrepared(handle, name, Int32(params.count), rebound.baseAddress, lengths, formats, 1) }
                return PQexecParams(handle, sql, Int32(params.count), nil, rebound.baseAddress, lengths, formats, 1)
            }
        }
        defer { PQclear(result) }
        try check(result, sql)
        let rowCount = Int(PQntuples(result))
        let columns = Int(PQnfields(result))
        var rows: [[[UInt8]?]] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<rowCount {
            var values: [[UInt8]?] = []
            for column in 0..<columns {
                if PQgetisnull(result, Int32(row), Int32(column)) == 1 { values.append(nil); continue }
                let length = Int(PQgetlength(result, Int32(row), Int32(column)))
                let start = PQgetvalue(result, Int32(row), Int32(column))
                values.append(start.map { Array(UnsafeRawBufferPointer(start: $0, count: length)) } ?? [])
            }
            rows.append(values)
        }
        return SQLRows(rows: rows)
    }

    private func check(_ result: OpaquePointer?, _ sql: String) throws(SQLError) {
        let status = result.map { PQresultStatus($0) } ?? PGRES_FATAL_ERROR
        guard status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK else { return }
        let state = result.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "C"))) }.map { String(cString: $0) } ?? ""
        let text = Self.clean(String(cString: PQerrorMessage(handle)))
        // Class 08 is "connection exception"; 57P0x the server shutting down.
        let lost = isBroken || state.hasPrefix("08") || state.hasPrefix("57P")
        throw SQLError(state: state, message: "\(text) (in: \(sql.prefix(60)))", connectionLost: lost)
    }

    // MARK: LISTEN/NOTIFY

    /// Waits up to `timeoutMillis` for a notification on a connection that ran LISTEN; true
    /// when at least one arrived (all pending ones are consumed).
    func awaitNotification(timeoutMillis: Int32) throws(SQLError) -> Bool {
        if drainNotifications() { return true }
        let socket = PQsocket(handle)
        guard socket >= 0 else { throw SQLError(state: "08006", message: "no socket", connectionLost: true) }
        var poller = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        let ready = poll(&poller, 1, timeoutMillis)
        if ready < 0 { return false }
        if ready == 0 { return false }
        guard PQconsumeInput(handle) == 1 else {
            throw SQLError(state: "08006", message: Self.clean(String(cString: PQerrorMessage(handle))), connectionLost: true)
        }
        return drainNotifications()
    }

    private func drainNotifications() -> Bool {
        var any = false
        while let notification = PQnotifies(handle) {
            any = true
            PQfreemem(notification)
        }
        return any
    }

    fileprivate static func clean(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: " ") }.joined(separator: " ")
    }
}

extension StringProtocol {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        var slice = Substring(self)
        while slice.first == set { slice = slice.dropFirst() }
        while slice.last == set { slice = slice.dropLast() }
        return String(slice)
    }
}

extension Connection {
    /// "host:port/dbname" of a libpq connection string or URI, for messages (never the password).
    static func describe(_ conninfo: String) -> String {
        var error: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &error) else {
            if let error { PQfreemem(error) }
            return "(unparsable connection string)"
        }
        defer { PQconninfoFree(options) }
        var found: [String: String] = [:]
        var index = 0
        while let keyword = options[index].keyword {
            if let value = options[index].val { found[String(cString: keyword)] = String(cString: value) }
            index += 1
        }
        let host = found["host"] ?? found["hostaddr"] ?? "localhost"
        return "\(host):\(found["port"] ?? "5432")/\(found["dbname"] ?? found["user"] ?? "postgres")"
    }

    /// Whether libpq accepts the string at all (checked at create, before any connection).
    static func parseError(_ conninfo: String) -> String? {
        var error: UnsafeMutablePointer<CChar>?
        if let options = PQconninfoParse(conninfo, &error) {
            PQconninfoFree(options)
            return nil
        }
        defer { if let error { PQfreemem(error) } }
        return error.map { clean(String(cString: $0)) } ?? "not a PostgreSQL connection string"
    }
}
