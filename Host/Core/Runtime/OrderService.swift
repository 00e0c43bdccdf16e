import HubJSON
import HubLoader
import Logging
import Synchronization

/// The order API behind HTTP: intake through the pipeline, reads from the bus, transitions.
public final class OrderService: Sendable {
    let plugins: PluginSet
    private let steps: Mutex<[LiveSlot]>
    /// The intake pipeline's slots, in order (changed by `orderhub apply`).
    var pipeline: [LiveSlot] { steps.withLock { $0 } }
    func setPipeline(_ slots: [LiveSlot]) { steps.withLock { $0 = slots } }
    let committer: GroupCommitter
    let metrics: HostMetrics
    let logger: Logger
    let idempotency = IdempotencyTable()
    /// Orders flagged by a predictor for a person (GET /v1/predictions/suggestions).
    public let suggestions = SuggestionBoard()
    /// Whether some connector takes dispatch requests (else orders stop at `released`).
    var dispatchEnabled: Bool { dispatching.load(ordering: .relaxed) }
    private let dispatching: Atomic<Bool>
    func setDispatchEnabled(_ on: Bool) { dispatching.store(on, ordering: .relaxed) }

    init(plugins: PluginSet, pipeline: [LiveSlot], committer: GroupCommitter, metrics: HostMetrics, logger: Logger, dispatchEnabled: Bool) {
        self.plugins = plugins
        steps = Mutex(pipeline)
        self.committer = committer
        self.metrics = metrics
        self.logger = logger
        dispatching = Atomic(dispatchEnabled)
        kvShared = plugins.bus.sharedByNodes
    }
    /// Other hub nodes share the bus (and the KV plugins use).
    private let kvShared: Bool

    /// Accepts an order: validate, run the pipeline, commit every step's event in one group
    /// commit with the idempotency record, then answer. Nothing is acknowledged before it is durable.
    public func submit(body: [UInt8], idempotencyKey: String) async -> IntakeOutcome {
        let started = Clock.monotonicNanos()
        let fingerprint = SHA256.hex(body)
        switch idempotency.claim(idempotencyKey, fingerprint: fingerprint) {
        case .replay(let response): return .replayed(body: response)
        case .conflict(let message): return .conflict(message)
        case .claimed: break
        }
        // A key from before a restart is not in memory: the bus refuses it at commit and
        // its stored record answers then (no bus read on the common path). On a bus other
        // nodes share, a client's retry may come here after another node took the order: the
        // stored record answers before the pipeline runs again (rules count velocity and
        // reserve budget once per order, not once per attempt).
        if kvShared, let stored = await BlockingLane.run({ try? self.plugins.bus.idempotencyRecord(idempotencyKey) }),
           let outcome = replay(stored, fingerprint: fingerprint, key: idempotencyKey) {
            return outcome
        }
        let id = OrderID.make()
        let order: OrderFields
        do {
            order = try OrderRequest.parse(body, id: id)
        } catch {
            idempotency.release(idempotencyKey)
            metrics.orderRejected()
            return .invalid(error.problems)
        }
        metrics.stage("parse", seconds: elapsed(since: started))
        let steps = IntakeSteps(order: order, key: idempotencyKey, service: self)
        // An isolated plugin's call may wait for its worker (up to call_timeout_ms), and on a bus
        // several nodes share, a plugin's KV calls wait on the database (rules count velocity
        // there): not on the cooperative pool, which serves every request.
        let blocking = kvShared || pipeline.contains(where: { slot in slot.instances.contains { $0.isolation == "process" } || slot.current.spec.isolation == .process })
        let events = blocking ? await BlockingLane.run { steps.run() } : steps.run()
        let state = events.last(where: { !$0.state.isEmpty })?.state ?? OrderState.accepted.rawValue
        var response = JSONWriter()
        response.object { o in
            o.field("id", id)
            o.field("state", state)
            o.field("idempotency_key", idempotencyKey)
        }
        let record = IdempotencyRecord(key: idempotencyKey, subject: id, fingerprint: fingerprint, response: response.bytes)
        let commitStarted = Clock.monotonicNanos()
        let result = await committer.commit(CommitRequest(subject: id, events: events, record: record, precondition: .newOrder))
        metrics.stage("commit", seconds: elapsed(since: commitStarted))
        switch result {
        case .success:
            idempotency.answer(idempotencyKey, fingerprint: fingerprint, response: response.bytes)
            for (slot, prediction) in steps.flagged.items { suggestions.add(orderID: id, slot: slot, prediction: prediction) }
            metrics.orderAccepted()
            metrics.stage("intake_total", seconds: elapsed(since: started))
            return .created(id: id, state: state, body: response.bytes)
        case .failure(.duplicateIdempotencyKey):
            idempotency.release(idempotencyKey)
            let stored = await BlockingLane.run { try? self.plugins.bus.idempotencyRecord(idempotencyKey) }
            if let stored, let outcome = replay(stored, fingerprint: fingerprint, key: idempotencyKey) {
                return outcome
            }
            return .conflict("this Idempotency-Key was already used")
        case .failure(let error):
            idempotency.release(idempotencyKey)
            logger.error("order \(id) not committed: \(error)")
            return .unavailable("the order could not be made durable: \(error)")
        }
    }

    /// A stored idempotency record (from before a restart) answers the request.
    private func replay(_ stored: [UInt8], fingerprint: String, key: String) -> IntakeOutcome? {
        guard let record = try? JSONParser.parse(stored), let known = record["fingerprint"]?.stringValue,
            let response = record["response"]?.stringValue
        else { return nil }
        if known == fingerprint {
            idempotency.answer(key, fingerprint: fingerprint, response: Array(response.utf8))
            return .replayed(body: Array(response.utf8))
        }
        idempotency.answer(key, fingerprint: known, response: Array(response.utf8))
        return .conflict("this Idempotency-Key was used with a different request body")
    }

    func elapsed(since start: UInt64) -> Double { Double(Clock.monotonicNanos() - start) / 1e9 }
}
