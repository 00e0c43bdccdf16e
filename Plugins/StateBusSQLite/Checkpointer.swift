import Dispatch
import HubPluginKit
import Synchronization

/// Copies the WAL back into the database on its own connection and thread, so the writer's
/// group commits never stall on a checkpoint (SQLite's automatic checkpoint runs inside the
/// committing transaction and fsyncs the whole database file: tens of ms at p999).
/// PASSIVE checkpoints never block the writer.
final class Checkpointer: Sendable {
    private let stopping = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)

    init(path: String, intervalMillis: Int, log: @escaping @Sendable (String) -> Void) throws(PluginError) {
        let database = try Database(path: path)
        let connection = UncheckedConnection(database: database)
        DispatchQueue(label: "orderhub.bus.sqlite.checkpoint", qos: .utility).async { [self] in
            while !stopping.load(ordering: .acquiring) {
                _ = wake.wait(timeout: .now() + .milliseconds(intervalMillis))
                if stopping.load(ordering: .acquiring) { break }
                do throws(PluginError) {
                    try connection.database.execute("PRAGMA wal_checkpoint(PASSIVE)")
                } catch {
                    log("checkpoint: \(error.message)")
                }
            }
            done.signal()
        }
    }

    /// Stops the loop and waits for it (the bus then runs a final TRUNCATE checkpoint).
    func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        wake.signal()
        done.wait()
    }
}

/// The checkpoint connection, used only by the checkpoint queue.
private struct UncheckedConnection: @unchecked Sendable {  // touched only on the checkpoint queue
    let database: Database
}
