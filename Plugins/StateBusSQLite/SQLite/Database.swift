import CSQLite
import HubPluginKit

/// A thin owner of one sqlite3 connection. Not thread-safe: SQLiteBus keeps it behind a Mutex.
final class Database {
    private let handle: OpaquePointer
    let path: String

    init(path: String) throws(PluginError) {
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let db { sqlite3_close_v2(db) }
            throw PluginError.invalid("cannot open SQLite database '\(path)': \(message)")
        }
        handle = db
        self.path = path
        sqlite3_busy_timeout(db, 5_000)
    }

    deinit { sqlite3_close_v2(handle) }

    func execute(_ sql: String) throws(PluginError) {
        var message: UnsafeMutablePointer<CChar>?
        if sqlite3_exec(handle, sql, nil, nil, &message) != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? "unknown error"
            sqlite3_free(message)
            throw PluginError.internalError("SQLite error in '\(path)': \(text) - while executing \(sql.prefix(80))")
        }
    }

    func prepare(_ sql: String) throws(PluginError) -> Statement {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil) == SQLITE_OK,
            let statement
        else { throw error("preparing \(sql.prefix(80))") }
        return Statement(statement, database: self)
    }

    func error(_ doing: String) -> PluginError {
        PluginError.internalError(
            "SQLite error \(sqlite3_errcode(handle)) in '\(path)': \(String(cString: sqlite3_errmsg(handle))) - while \(doing)")
    }

    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
    var changes: Int32 { sqlite3_changes(handle) }
}

/// A prepared statement, reset after each use.
final class Statement {
    private let handle: OpaquePointer
    private unowned let database: Database

    init(_ handle: OpaquePointer, database: Database) {
        self.handle = handle
        self.database = database
    }

    deinit { sqlite3_finalize(handle) }

    func bind(_ index: Int32, _ text: String) {
        sqlite3_bind_text(handle, index, text, -1, csqlite_transient())
    }
    func bind(_ index: Int32, _ value: Int64) { sqlite3_bind_int64(handle, index, value) }
    /// Binds borrowed UTF-8 bytes as text; SQLite copies them (TRANSIENT).
    func bind(_ index: Int32, utf8: UnsafeRawBufferPointer) {
        guard let base = utf8.baseAddress, utf8.count > 0 else {
            sqlite3_bind_text(handle, index, "", 0, csqlite_transient())
            return
        }
        sqlite3_bind_text(handle, index, base.assumingMemoryBound(to: CChar.self), Int32(utf8.count), csqlite_transient())
    }
    /// Binds borrowed bytes as a blob; SQLite copies them (TRANSIENT).
    func bind(_ index: Int32, blob: UnsafeRawBufferPointer) {
        sqlite3_bind_blob(handle, index, blob.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(blob.count), csqlite_transient())
    }
    func bind(_ index: Int32, blob: [UInt8]) {
        _ = blob.withUnsafeBytes { sqlite3_bind_blob(handle, index, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32($0.count), csqlite_transient()) }
    }

    /// Steps once; true when a row is available.
    func step() throws(PluginError) -> Bool {
        let rc = sqlite3_step(handle)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        throw database.error("stepping \(String(cString: sqlite3_sql(handle)).prefix(80))")
    }

    /// Runs a statement that returns no rows, then resets it.
    func run() throws(PluginError) {
        defer { reset() }
        _ = try step()
    }

    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
    func text(_ column: Int32) -> String {
        guard let text = sqlite3_column_text(handle, column) else { return "" }
        return String(cString: text)
    }
    func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let bytes = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }
}
