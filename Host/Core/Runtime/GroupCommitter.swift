import Dispatch
import HubLoader
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One durable group, as the router sees it: its events sit in records with offsets in
/// (floor, last].
public struct CommittedGroup: Sendable {
    public let events: [BusEvent]
    public let floor: UInt64
    public let last: UInt64
    /// Read back from the log (another node's commit, or ours on a shared bus): a dispatch
    /// request holds the log's slim record, so its instruction is rebuilt from the timeline.
    public var fromLog = false
}

/// The single writer to the state bus. Writers queue CommitRequests; one thread takes all
/// that are waiting, checks them against the live order states, numbers their events, and
/// appends them in one transaction (one fsync for the whole group), then answers each
/// writer. This is group commit: throughput grows with concurrency instead of with fsyncs.
public final class GroupCommitter: Sendable {
    struct Pending: Sendable {
        let request: CommitRequest
        let reply: @Sendable (Result<CommitResult, CommitError>) -> Void
    }

    struct Queue: ~Copyable {
        var pending: [Pending] = []
        var stopping = false
        var busy = false
    }

    private let bus: PluginInstance
    private let queue = Mutex(Queue())
    private let wakeup = DispatchSemaphore(value: 0)
    private let idle = DispatchSemaphore(value: 0)
    let states: OrderStateCache
    private let logger: Logger
    private let onCommitted: @Sendable (CommittedGroup) -> Void
    /// The log's tail offset as this committer last wrote it (its thread only, after start).
    private let tail = Atomic<UInt64>(0)
    private let metrics: HostMetrics
    public let maxBatch: Int

    public init(bus: PluginInstance, metrics: HostMetrics, logger: Logger, maxBatch: Int = 1024, tail: UInt64 = 0,
                onCommitted: @escaping @Sendable (CommittedGroup) -> Void) {
        self.tail.store(tail, ordering: .relaxed)
        self.bus = bus
        self.metrics = metrics
        self.logger = logger
        self.maxBatch = maxBatch
        self.onCommitted = onCommitted
        states = OrderStateCache(bus: bus)
        DispatchQueue(label: "orderhub.group-committer", qos: .userInitiated).async { [self] in run() }
    }

    /// Commits and waits (async): returns once the events are durable.
    public func commit(_ request: CommitRequest) async -> Result<CommitResult, CommitError> {
        await withCheckedContinuation { continuation in
            enqueue(Pending(request: request) { continuation.resume(returning: $0) })
        }
    }

    /// Commits and waits on a plain thread (connector workers).
    public func commitBlocking(_ request: CommitRequest) -> Result<CommitResult, CommitError> {
        let done = DispatchSemaphore(value: 0)
        let box = Mutex<Result<CommitResult, CommitError>?>(nil)
        enqueue(Pending(request: request) { result in
            box.withLock { $0 = result }
            done.signal()
        })
        done.wait()
        return box.withLock { $0! }
    }

    /// Queues and calls `then` (on the committer's thread) once durable or refused: a
    /// connector worker goes on delivering while its acknowledgements are group-committed.
    public func commit(_ request: CommitRequest, then: @escaping @Sendable (Result<CommitResult, CommitError>) -> Void) {
        enqueue(Pending(request: request, reply: then))
    }

    /// Queues without waiting (host `publish` service).
    public func submit(_ request: CommitRequest) {
        enqueue(Pending(request: request) { [logger] result in
            if case .failure(let error) = result { logger.warning("published event not committed: \(error)") }
        })
    }

    private func enqueue(_ pending: Pending) {
        let accepted = queue.withLock { q -> Bool in
            guard !q.stopping else { return false }
            q.pending.append(pending)
            return true
        }
        if accepted { wakeup.signal() } else { pending.reply(.failure(.stopped)) }
    }

    /// Commits everything queued, refuses new work, and stops the thread.
    public func stop() {
        let alreadyStopping = queue.withLock { q -> Bool in
            defer { q.stopping = true }
            return q.stopping
        }
        guard !alreadyStopping else { return }
        wakeup.signal()
        idle.wait()
    }

    /// Current state and sequence of an order as the committer sees it.
    /// The last offset committed so far (a connector added live starts here).
    public var tailOffset: UInt64 { tail.load(ordering: .relaxed) }

    public func state(of order: String) throws(PluginCallError) -> OrderStateCache.Entry? { try states.read(order) }

    private func run() {
        while true {
            wakeup.wait()
            let (batch, stopping) = queue.withLock { q -> ([Pending], Bool) in
                let take = Array(q.pending.prefix(maxBatch))
                q.pending.removeFirst(take.count)
                return (take, q.stopping && q.pending.isEmpty)
            }
            if !batch.isEmpty { commitBatch(batch) }
            // Keep draining: one signal may stand for several enqueues.
            let more = queue.withLock { !$0.pending.isEmpty }
            if more { wakeup.signal(); continue }
            if stopping || queue.withLock({ $0.stopping && $0.pending.isEmpty }) {
                idle.signal()
                return
            }
        }
    }

    /// Whether a refused request's idempotency key is already stored (a true duplicate), as
    /// opposed to a sequence conflict. A new order's key is the only thing that can clash.
    private func keyTaken(_ record: IdempotencyRecord?) -> Bool {
        guard let record else { return false }
        return (try? bus.idempotencyRecord(record.key)) != nil
    }

    private func commitBatch(_ batch: [Pending], attempt: Int = 1) {
        let started = Clock.monotonicNanos()
        var prepared = BatchPlan(states: states)
        var refused: [(Pending, CommitError)] = []
        var accepted: [(Pending, BatchPlan.Planned)] = []
        for pending in batch {
            switch prepared.add(pending.request) {
            case .success(let result): accepted.append((pending, result))
            case .failure(let error): refused.append((pending, error))
            }
        }
        for (pending, error) in refused { pending.reply(.failure(error)) }
        guard !accepted.isEmpty else { return }
        do {
            let floor = tail.load(ordering: .relaxed)
            let offset = try bus.append(prepared.events, records: prepared.records)
            tail.store(max(floor, offset), ordering: .relaxed)
            prepared.apply()
            metrics.commitBatch(events: prepared.events.count, seconds: Double(Clock.monotonicNanos() - started) / 1e9)
            for (pending, result) in accepted {
                pending.reply(.success(CommitResult(stateBefore: result.stateBefore, state: result.state, lastSequence: result.lastSequence, offset: offset, floor: floor,
                                                    events: result.events)))
            }
            onCommitted(CommittedGroup(events: prepared.events, floor: floor, last: offset))
        } catch {
            metrics.busError()
            if accepted.count == 1 {
                let (pending, _) = accepted[0]
                states.forget(pending.request.subject)
                // Another hub node sharing the bus moved this order since it was cached: read its
                // state again and re-check the step against it.
                if error.status == 9 && pending.request.precondition != .none && attempt < 4 && !keyTaken(pending.request.record) {
                    commitBatch([pending], attempt: attempt + 1)
                    return
                }
                pending.reply(.failure(error.status == 9 && pending.request.record != nil
                    ? .duplicateIdempotencyKey(pending.request.record!.key) : .bus(error)))
                return
            }
            // One bad request must not sink the group: retry each alone to find it.
            logger.debug("group of \(accepted.count) failed (\(error)); committing one by one")
            for (pending, _) in accepted {
                states.forget(pending.request.subject)
                commitBatch([pending])
            }
        }
    }
}
