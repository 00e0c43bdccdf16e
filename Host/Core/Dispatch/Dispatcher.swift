import Dispatch
import HubJSON
import HubLoader
import Logging
import Synchronization

/// Delivers what one connector owes, on `concurrency` worker threads (deliveries block on
/// the network): per-order FIFO, retries with exponential backoff and equal jitter (never
/// sooner than the system's Retry-After), a circuit breaker, and a dead-letter list. Every
/// attempt, its outcome and its latency go on the order's timeline; an item leaves the
/// queue only once its outcome is durable, so a crash at any point re-sends, never loses.
public final class Dispatcher: Sendable {
    struct State: ~Copyable {
        var queue: DeliveryQueue
        var breaker: CircuitBreaker
        var stopping = false
        var paused = false
        var lastSavedWatermark: UInt64 = 0
        var lastSaveNanos: UInt64 = 0
    }

    /// The connector's slot: the instance behind it may be swapped while deliveries go on.
    public let connector: LiveSlot
    public let deadLetters: DeadLetters
    let policy: Manifest.RetryPolicy
    let committer: GroupCommitter
    let metrics: HostMetrics
    let logger: Logger
    let recovery: OutboxRecovery
    let state: Mutex<State>
    private let wakeup = DispatchSemaphore(value: 0)
    private let exited = DispatchSemaphore(value: 0)
    private let workers: Int
    /// Whether a delivery may start now: on a hub node sharing its bus, only while this node
    /// holds the connector's dispatch lease (Cluster); always otherwise.
    private let fence: @Sendable () -> Bool
    /// Routed items below this floor were already scanned when this node took the lease.
    private let minFloor: UInt64

    init(connector: LiveSlot, spec: Manifest.Plugin, bus: PluginInstance, committer: GroupCommitter, metrics: HostMetrics,
         logger: Logger, startOffset: UInt64, owed: [OutboxItem] = [], paused: Bool = false, fence: @escaping @Sendable () -> Bool = { true },
         minFloor: UInt64 = 0) {
        self.connector = connector
        self.fence = fence
        self.minFloor = minFloor
        policy = spec.retry
        self.committer = committer
        self.metrics = metrics
        self.logger = logger
        recovery = OutboxRecovery(bus: bus, logger: logger)
        deadLetters = DeadLetters(slot: connector.slot, bus: bus)
        let breaker = CircuitBreaker(threshold: spec.connector.circuitFailures, openNanos: UInt64(spec.connector.circuitOpenMillis) * 1_000_000)
        var queue = DeliveryQueue(seenUpTo: startOffset)
        for item in owed { queue.add(item) }
        state = Mutex(State(queue: queue, breaker: breaker, paused: paused, lastSavedWatermark: startOffset))
        workers = spec.connector.concurrency
        for index in 0..<workers {
            DispatchQueue(label: "orderhub.dispatch.\(connector.slot).\(index)").async { [self] in run() }
        }
    }

    /// Queues committed events (`floor`: an offset below their record).
    /// `routed`: handed over by the router from the log (dropped below `minFloor`, which the
    /// lease's scan covered); a replay's item is queued whatever its floor.
    func enqueue(_ items: [OutboxItem], routed: Bool = false) {
        guard !items.isEmpty else { return }
        // While stopping, items are still queued (not sent): they hold the watermark below them,
        // so the next start sends them.
        state.withLock { s in for item in items where !routed || item.floor >= minFloor { s.queue.add(item) } }
        wakeup.signal()
    }

    /// Every event up to `offset` has been routed: the watermark may pass it.
    func observe(committedUpTo offset: UInt64) { state.withLock { $0.queue.observe(committedUpTo: offset) } }

    public var backlog: Int { state.withLock { $0.queue.count } }

    func resume() {
        state.withLock { $0.paused = false }
        for _ in 0..<workers { wakeup.signal() }
    }
    public var circuit: (phase: String, opened: Int) { state.withLock { ($0.breaker.phase.rawValue, $0.breaker.opened) } }

    /// Stops taking jobs; waits up to `graceNanos` for deliveries in progress, then saves the
    /// watermark. What is still queued stays owed in the log and is sent after a restart.
    /// Returns false when a worker is still inside a delivery after the grace period.
    /// `saveWatermark: false` when this node lost its dispatch lease: the node that holds it now keeps the watermark.
    @discardableResult
    public func stop(graceNanos: UInt64, saveWatermark save: Bool = true) -> Bool {
        state.withLock { $0.stopping = true }
        for _ in 0..<workers { wakeup.signal() }
        let deadline = DispatchTime.now() + .nanoseconds(Int(graceNanos))
        var exitedAll = true
        for _ in 0..<workers where exited.wait(timeout: deadline) == .timedOut { exitedAll = false }
        if save { saveWatermark(force: true) }
        return exitedAll
    }

    private enum Step {
        case deliver(DeliveryQueue.Job)
        case wait(UInt64?)
        case exit
    }

    private func run() {
        while true {
            switch nextStep() {
            case .exit:
                exited.signal()
                return
            case .wait(let due):
                if let due, due > 0 {
                    let now = Clock.monotonicNanos()
                    let wait = min(due > now ? due - now : 0, 1_000_000_000)
                    _ = wakeup.wait(timeout: .now() + .nanoseconds(Int(wait)))
                } else {
                    wakeup.wait()
                }
            case .deliver(let job):
                // More may be due: let another worker look while this one delivers.
                wakeup.signal()
                deliver(job)
                saveWatermark(force: false)
            }
        }
    }

    private func nextStep() -> Step {
        state.withLock { s -> Step in
            if s.stopping { return .exit }
            if s.paused { return .wait(nil) }
            let now = Clock.monotonicNanos()
            // Fenced (the dispatch lease lapsed or is not ours): look again shortly.
            if !fence() { return .wait(now + 100_000_000) }
            if let until = s.breaker.blockedUntil(now: now) { return .wait(until) }
            guard let job = s.queue.take(now: now) else { return .wait(s.queue.nextDue()) }
            s.breaker.started()
            return .deliver(job)
        }
    }

    private func deliver(_ job: DeliveryQueue.Job) {
        let started = Clock.monotonicNanos()
        var outgoing = job.item.event
        if job.item.rebuild { outgoing.delivery = DispatchInstruction.delivery(order: outgoing.subject, bus: recovery.bus) }
        if let delivery = outgoing.delivery { outgoing.data = delivery }
        // Only the order fields the manifest grants this connector leave the hub.
        if let grant = connector.grant { outgoing.data = grant.apply(toInstruction: outgoing.data) }
        let result: Result<[UInt8], PluginInstance.DeliveryFailure>
        if job.item.rebuild && outgoing.delivery == nil {
            // Never send the log's slim record in place of the instruction. The bus did not
            // answer, not the connector: back in line, no attempt charged, the circuit untouched.
            putBack(job, afterNanos: 1_000_000_000)
            logger.warning("dispatch of \(job.subject) to \(connector.slot) waits: the order's timeline could not be read to rebuild its instruction")
            return
        } else if !fence() {
            // The lease lapsed while the instruction was rebuilt: not sent; back in line.
            putBack(job, afterNanos: 100_000_000)
            return
        } else {
            result = Result { () throws(PluginInstance.DeliveryFailure) in
                try connector.use(order: job.subject) { instance throws(PluginInstance.DeliveryFailure) in try instance.deliver(outgoing) }
            }
        }
        let latency = Double(Clock.monotonicNanos() - started) / 1e9
        metrics.stage("dispatch", seconds: latency)
        switch result {
        case .success(let ack): acknowledged(job, ack: ack, latency: latency)
        case .failure(let failure): failed(job, failure, latency: latency)
        }
        wakeup.signal()
    }

    /// A job that was taken but not sent goes back in its place, due later, uncharged.
    private func putBack(_ job: DeliveryQueue.Job, afterNanos: UInt64) {
        state.withLock { s in
            s.breaker.withdrawn()
            s.queue.putBack(job, due: Clock.monotonicNanos() + afterNanos)
        }
        wakeup.signal()
    }

    private func acknowledged(_ job: DeliveryQueue.Job, ack: [UInt8], latency: Double) {
        // Nothing to tell this system about this event (the profile has no operation for it):
        // settled without a timeline entry; after a crash it is merely skipped again.
        let reply = try? JSONParser.parse(ack)
        if reply?["skipped"]?.boolValue == true {
            state.withLock { s in
                s.breaker.succeeded()
                s.queue.finish(job)
            }
            return
        }
        metrics.dispatch("acknowledged")
        let back = job.item.event.type == EventTypes.dispatchRequested ? OrderState.acknowledged.rawValue : ""
        state.withLock { $0.breaker.succeeded() }
        // The worker goes on; the item is settled only once its acknowledgement is durable.
        record(job, type: EventTypes.dispatchAcknowledged, state: back, latency: latency, then: settle(job)) { o in
            // The external system's reply is kept only if it is JSON; otherwise as text.
            if reply != nil { o.rawField("ack", ack) } else { o.field("ack_text", String(decoding: ack.prefix(4096), as: UTF8.self)) }
        }
    }

    /// Settles a job once its outcome is recorded; if it could not be (the hub is stopping),
    /// it stays owed: the log still says so, and the next start sends it again.
    private func settle(_ job: DeliveryQueue.Job) -> @Sendable (Result<Void, CommitError>) -> Void {
        { [self] result in
            state.withLock { s in
                switch result {
                case .success: s.queue.finish(job)
                // Nothing can be recorded for an order that does not exist: settled, logged.
                case .failure(.orderNotFound): s.queue.finish(job)
                // The hub is stopping: stays owed; the next start sends it again.
                case .failure(.stopped): s.queue.retry(job, due: UInt64.max)
                // The bus could not write it: deliver again in a second (same key, one effect).
                case .failure: s.queue.retry(job, due: Clock.monotonicNanos() + 1_000_000_000)
                }
            }
            wakeup.signal()
        }
    }

    private func failed(_ job: DeliveryQueue.Job, _ failure: PluginInstance.DeliveryFailure, latency: Double) {
        metrics.pluginError()
        let error = failure.error
        let temporary = error.status == 3 || error.status == 4
        guard temporary && job.attempt < policy.maxAttempts else {
            deadLetter(job, error, latency: latency, temporary: temporary)
            return
        }
        metrics.dispatch("retry")
        let backoff = max(backoffNanos(attempt: job.attempt), UInt64(failure.retryAfterMillis ?? 0) * 1_000_000)
        record(job, type: EventTypes.dispatchAttempted, state: "", latency: latency) { o in
            o.field("error", error.message)
            o.field("status", error.statusName)
            o.field("retry_in_ms", Int(backoff / 1_000_000))
            if let wait = failure.retryAfterMillis { o.field("retry_after_ms", wait) }
        }
        let opened = state.withLock { s -> Bool in
            let opened = s.breaker.failed(now: Clock.monotonicNanos())
            s.queue.retry(job, due: Clock.monotonicNanos() + backoff)
            return opened
        }
        if opened {
            metrics.circuitOpened()
            logger.warning("connector \(connector.slot): circuit opened after repeated failures (\(error.message)); deliveries pause")
        }
    }

    private func deadLetter(_ job: DeliveryQueue.Job, _ error: PluginCallError, latency: Double, temporary: Bool) {
        metrics.dispatch("failed")
        logger.warning("dispatch of \(job.subject) to \(connector.slot) failed for good after \(job.attempt) attempt(s): \(error.message)")
        let entry = DeadLetters.Entry(eventID: job.item.event.id, orderID: job.subject, type: job.item.event.type, connector: connector.slot,
                                      error: error.message.split(whereSeparator: \.isNewline).joined(separator: " "), status: error.statusName, attempts: job.attempt,
                                      timeUnixMillis: Clock.wallNanos() / 1_000_000)
        do throws(PluginCallError) { try deadLetters.add(entry) } catch { logger.error("could not keep dead letter \(entry.eventID): \(error)") }
        let back = job.item.event.type == EventTypes.dispatchRequested ? OrderState.released.rawValue : ""
        let opened = state.withLock { s -> Bool in
            // A refusal means the system answered; running out of attempts is one more failure
            // (and, for a half-open probe, re-opens the circuit rather than leaving it waiting).
            if temporary { return s.breaker.failed(now: Clock.monotonicNanos()) }
            s.breaker.answered()
            return false
        }
        if opened { metrics.circuitOpened() }
        record(job, type: EventTypes.dispatchFailed, state: back, latency: latency, then: settle(job)) { o in
            o.field("error", error.message)
            o.field("status", error.statusName)
            o.field("final", true)
            o.field("dead_letter", true)
        }
    }

    /// Exponential backoff, capped, with "equal jitter": a random wait between half and all of
    /// the step, so retries of many orders spread out yet never come back at once.
    private func backoffNanos(attempt: Int) -> UInt64 {
        let base = Double(policy.initialBackoffMillis) * Double(1 << min(attempt - 1, 20))
        let capped = min(base, Double(policy.maxBackoffMillis))
        let jittered = capped / 2 + Double.random(in: 0...(capped / 2))
        return UInt64(jittered * 1_000_000)
    }

    /// Records one attempt's outcome on the order's timeline (group-committed); `then` learns
    /// whether it became durable.
    func record(_ job: DeliveryQueue.Job, type: String, state: String, latency: Double, then: (@Sendable (Result<Void, CommitError>) -> Void)? = nil,
                _ fields: (inout JSONWriter.ObjectWriter) -> Void) {
        var writer = JSONWriter()
        writer.object { o in
            o.field("connector", connector.slot)
            o.field("event", job.item.event.id)
            o.field("event_type", job.item.event.type)
            o.field("attempt", job.attempt)
            o.field("latency_ms", (latency * 1_000_000).rounded() / 1000)
            fields(&o)
        }
        let event = BusEvent(
            id: "", source: "/orderhub/\(connector.slot)", type: type, subject: job.subject, data: writer.bytes,
            producer: connector.slot, timeUnixNanos: Clock.wallNanos(), sequence: 0, state: state)
        committer.commit(CommitRequest(subject: job.subject, events: [event], precondition: .existingLenient)) { [logger] result in
            switch result {
            case .success: then?(.success(()))
            case .failure(let error):
                logger.error("could not record \(type) for \(job.subject): \(error)")
                then?(.failure(error))
            }
        }
    }

    /// Saves the watermark at most once a second (and at stop), so a restart re-reads little.
    private func saveWatermark(force: Bool) {
        let mark = state.withLock { s -> UInt64? in
            // Read the clock under the lock: another worker may have saved a moment "later".
            let now = Clock.monotonicNanos()
            guard force || (!s.stopping && now >= s.lastSaveNanos + 1_000_000_000) else { return nil }
            let mark = s.queue.watermark
            guard mark > s.lastSavedWatermark else { return nil }
            s.lastSavedWatermark = mark
            s.lastSaveNanos = now
            return mark
        }
        guard let mark else { return }
        do throws(PluginCallError) { try recovery.saveWatermark(connector.slot, mark) } catch {
            logger.warning("could not save the outbox watermark of \(connector.slot): \(error)")
        }
    }
}
