import Dispatch
import HubPluginKit
import Synchronization

/// Group commit for KV writes. Every compare-and-set is its own statement, checked on its own
/// (an UPDATE that finds another revision changes no row, it does not fail the others), but
/// the writes waiting at one moment share one transaction, so one fsync. Rules that count in
/// the KV on every order (shared velocity windows, promotion budgets) would otherwise pay one
/// fsync per order. Writes to one key in one batch run in arrival order and see each other.
final class KVWrites: Sendable {
    final class Pending: Sendable {
        let namespace: String, key: String, value: [UInt8], expected: UInt64
        let done = DispatchSemaphore(value: 0)
        /// The new revision, nil when the compare-and-set lost, or why the batch failed.
        let result = Mutex<Result<UInt64?, PluginError>>(.success(nil))

        init(namespace: String, key: String, value: [UInt8], expected: UInt64) {
            (self.namespace, self.key, self.value, self.expected) = (namespace, key, value, expected)
        }
    }

    private let pool: Pool
    private let waiting = Mutex<(list: [Pending], stopping: Bool)>(([], false))
    private let wake = DispatchSemaphore(value: 0)
    private let exited = DispatchSemaphore(value: 0)

    init(pool: Pool) {
        self.pool = pool
        DispatchQueue(label: "orderhub.bus.postgres.kv", qos: .userInitiated).async { [self] in run() }
    }

    /// Writes and waits for the commit: the new revision, or nil when `expected` did not match.
    func put(namespace: String, key: String, value: [UInt8], expected: UInt64) throws(PluginError) -> UInt64? {
        let pending = Pending(namespace: namespace, key: key, value: value, expected: expected)
        let accepted = waiting.withLock { w -> Bool in
            guard !w.stopping else { return false }
            w.list.append(pending)
            return true
        }
        guard accepted else { throw PluginError(6 /* HUB_STATE */, "the bus is shutting down") }
        wake.signal()
        pending.done.wait()
        return try pending.result.withLock { $0 }.get()
    }

    func stop() {
        let first = waiting.withLock { w -> Bool in
            defer { w.stopping = true }
            return !w.stopping
        }
        guard first else { return }
        wake.signal()
        exited.wait()
    }

    private func run() {
        while true {
            wake.wait()
            let (batch, stopping) = waiting.withLock { w -> ([Pending], Bool) in
                let taken = Array(w.list.prefix(512))
                w.list.removeFirst(taken.count)
                return (taken, w.stopping && w.list.isEmpty)
            }
            if !batch.isEmpty { write(batch) }
            if waiting.withLock({ !$0.list.isEmpty }) { wake.signal(); continue }
            if stopping || waiting.withLock({ $0.stopping }) { break }
        }
        exited.signal()
    }

    private func write(_ batch: [Pending]) {
        // Rows are locked in (ns, key) order, the same on every node, so two nodes' batches
        // cannot deadlock; writes to one key keep their arrival order (the sort is stable).
        let ordered = batch.enumerated().sorted { a, b in
            (a.element.namespace, a.element.key, a.offset) < (b.element.namespace, b.element.key, b.offset)
        }
        var outcome: Result<[UInt64?], PluginError> = .success([])
        for attempt in 1...3 {
            outcome = Result { () throws(PluginError) -> [UInt64?] in
                try pool.transaction { db throws(SQLError) -> [UInt64?] in
                    var revisions = [UInt64?](repeating: nil, count: batch.count)
                    for (index, write) in ordered {
                        let rows = try Self.statement(write, db)
                        revisions[index] = rows.count == 1 ? UInt64(rows.int(0, 0)) : nil
                    }
                    return revisions
                }
            }
            // A serialization failure or deadlock refused the batch as a whole, not each write: again.
            guard case .failure(let error) = outcome, error.status == 9, attempt < 3 else { break }
        }
        for (index, pending) in batch.enumerated() {
            pending.result.withLock { result in
                switch outcome {
                case .success(let revisions): result = .success(revisions[index])
                case .failure(let error): result = .failure(error)
                }
            }
            pending.done.signal()
        }
    }

    private static func statement(_ write: Pending, _ db: Connection) throws(SQLError) -> SQLRows {
        let params: [SQLParam] = [.text(write.namespace), .text(write.key), .bytes(write.value)]
        switch write.expected {
        case UInt64.max:
            return try db.query("INSERT INTO kv(ns, key, value, rev) VALUES ($1, $2, $3, 1) "
                + "ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, rev = kv.rev + 1 RETURNING rev", params, prepare: true)
        case 0:
            return try db.query("INSERT INTO kv(ns, key, value, rev) VALUES ($1, $2, $3, 1) ON CONFLICT DO NOTHING RETURNING rev", params, prepare: true)
        default:
            return try db.query("UPDATE kv SET value = $3, rev = rev + 1 WHERE ns = $1 AND key = $2 AND rev = $4::bigint RETURNING rev",
                                params + [.int(Int64(bitPattern: write.expected))], prepare: true)
        }
    }
}
