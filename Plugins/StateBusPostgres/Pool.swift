import Dispatch
import HubPluginKit
import Synchronization

/// A few connections shared by the bus's callers (the committer, HTTP reads, connector
/// workers): each call borrows one, so reads never queue behind a group commit. A connection
/// the server dropped is replaced on its next use; until the server answers again, calls fail
/// with HUB_AGAIN at once (the hub answers 503 with Retry-After), so nothing waits on a dead socket.
final class Pool: Sendable {
    private let idle: Mutex<[Unowned]>
    private let available: DispatchSemaphore
    private let conninfo: String
    let target: String
    let schema: String
    let size: Int
    /// The last connection failure, for health() (empty once connected again).
    let lastError = Mutex<String>("")

    init(conninfo: String, target: String, schema: String, size: Int) {
        self.conninfo = conninfo
        self.target = target
        self.schema = schema
        self.size = size
        idle = Mutex(Array(repeating: Unowned(nil), count: size))
        available = DispatchSemaphore(value: size)
    }

    /// A new connection with the bus's schema on its search path.
    func connect() throws(PluginError) -> Connection {
        do throws(PluginError) {
            let connection = try Connection(conninfo: conninfo, target: target)
            do throws(SQLError) {
                try connection.execute("SET search_path TO \(Schema.quoted(schema)); SET synchronous_commit TO on")
            } catch {
                throw error.pluginError
            }
            lastError.withLock { $0 = "" }
            return connection
        } catch {
            lastError.withLock { $0 = error.message }
            throw error
        }
    }

    /// Runs `body` on a borrowed connection. A lost connection is dropped (and reported as
    /// HUB_AGAIN); other SQL errors keep it.
    func with<T>(_ body: (Connection) throws(SQLError) -> T) throws(PluginError) -> T {
        // Every connection busy for this long means the database is not keeping up: say so.
        guard available.wait(timeout: .now() + .seconds(20)) == .success else {
            throw .again("all \(size) connections to PostgreSQL at \(target) stayed busy for 20 s")
        }
        defer { available.signal() }
        var borrowed = idle.withLock { $0.popLast() ?? Unowned(nil) }
        defer { idle.withLock { $0.append(borrowed) } }
        if borrowed.connection == nil || borrowed.connection!.isBroken { borrowed = Unowned(try connect()) }
        do throws(SQLError) {
            let result = try body(borrowed.connection!)
            lastError.withLock { if !$0.isEmpty { $0 = "" } }
            return result
        } catch {
            if error.connectionLost {
                borrowed = Unowned(nil)
                lastError.withLock { $0 = error.message }
                // The idle ones went the same way (server restarted, network cut): drop them too,
                // so the next calls connect afresh instead of each failing once.
                idle.withLock { list in list = list.map { _ in Unowned(nil) } }
            }
            throw error.pluginError
        }
    }

    /// For reads, which are safe to repeat: a connection found dead is replaced once, at once.
    func read<T>(_ body: (Connection) throws(SQLError) -> T) throws(PluginError) -> T {
        do throws(PluginError) {
            return try with(body)
        } catch where error.status == 3 && error.message.hasPrefix(SQLError.lostPrefix) {
            // The connection died under the call (not: no server to connect to): once more, fresh.
            return try with(body)
        }
    }

    /// Runs `body` in one transaction (rolled back when it throws).
    func transaction<T>(_ body: (Connection) throws(SQLError) -> T) throws(PluginError) -> T {
        try with { connection throws(SQLError) in
            try connection.execute("BEGIN")
            do throws(SQLError) {
                let result = try body(connection)
                try connection.execute("COMMIT")
                return result
            } catch {
                if !error.connectionLost { try? connection.execute("ROLLBACK") }
                throw error
            }
        }
    }
}

/// A connection in the idle list; only ever touched by the one caller that popped it.
struct Unowned: @unchecked Sendable {
    let connection: Connection?
    init(_ connection: Connection?) { self.connection = connection }
}
