import Dispatch
import HubJSON
import HubLoader
import Logging
import Synchronization

/// Delivers committed events to one connector on its own thread (deliveries block on the
/// network), retrying temporary failures with exponential backoff and jitter, and records
/// every attempt on the order's timeline.
public final class Dispatcher: Sendable {
    struct Job: Sendable {
        let event: BusEvent
        var attempt: Int
        var dueNanos: UInt64
    }

    struct State: ~Copyable {
        var jobs: [Job] = []
        var stopping = false
        var inFlight = 0
    }

    public let connector: PluginInstance
    private let policy: Manifest.RetryPolicy
    private let committer: GroupCommitter
    private let metrics: HostMetrics
    private let logger: Logger
    private let state = Mutex(State())
    private let wakeup = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    public init(connector: PluginInstance, policy: Manifest.RetryPolicy, committer: GroupCommitter, metrics: HostMetrics, logger: Logger) {
        self.connector = connector
        self.policy = policy
        self.committer = committer
        self.metrics = metrics
        self.logger = logger
        DispatchQueue(label: "orderhub.dispatch.\(connector.slot)").async { [self] in run() }
    }

    /// Queues a committed event for delivery.
    public func enqueue(_ event: BusEvent) {
        let accepted = state.withLock { s -> Bool in
            guard !s.stopping else { return false }
            s.jobs.append(Job(event: event, attempt: 1, dueNanos: 0))
            return true
        }
        if accepted { wakeup.signal() }
    }

    public var backlog: Int { state.withLock { $0.jobs.count + $0.inFlight } }

    /// Stops taking jobs; waits up to `graceNanos` for the delivery in progress. Queued jobs
    /// stay in the bus as `dispatched` orders and are resent after a restart.
    public func stop(graceNanos: UInt64) {
        state.withLock { $0.stopping = true }
        wakeup.signal()
        _ = finished.wait(timeout: .now() + .nanoseconds(Int(graceNanos)))
    }

    private func run() {
        while true {
            let next = state.withLock { s -> (Job?, UInt64?, Bool) in
                if s.stopping { return (nil, nil, true) }
                let now = Clock.monotonicNanos()
                if let index = s.jobs.firstIndex(where: { $0.dueNanos <= now }) {
                    s.inFlight += 1
                    return (s.jobs.remove(at: index), nil, false)
                }
                return (nil, s.jobs.map(\.dueNanos).min(), false)
            }
            if next.2 { finished.signal(); return }
            guard let job = next.0 else {
                if let due = next.1 {
                    let wait = due > Clock.monotonicNanos() ? due - Clock.monotonicNanos() : 0
                    _ = wakeup.wait(timeout: .now() + .nanoseconds(Int(wait)))
                } else {
                    wakeup.wait()
                }
                continue
            }
            deliver(job)
            state.withLock { $0.inFlight -= 1 }
        }
    }

    private func deliver(_ job: Job) {
        let started = Clock.monotonicNanos()
        var outgoing = job.event
        if let delivery = outgoing.delivery { outgoing.data = delivery }
        let result = Result { () throws(PluginCallError) in try connector.deliver(outgoing) }
        let latency = Double(Clock.monotonicNanos() - started) / 1e9
        metrics.stage("dispatch", seconds: latency)
        switch result {
        case .success(let ack):
            metrics.dispatch("acknowledged")
            record(job, type: EventTypes.dispatchAcknowledged, state: OrderState.acknowledged.rawValue, latency: latency) { o in
                // The external system's reply is kept only if it is JSON; otherwise as text.
                if (try? JSONParser.parse(ack)) != nil { o.rawField("ack", ack) } else { o.field("ack_text", String(decoding: ack.prefix(4096), as: UTF8.self)) }
            }
        case .failure(let error):
            metrics.pluginError()
            let temporary = error.status == 3 || error.status == 4
            if temporary && job.attempt < policy.maxAttempts {
                metrics.dispatch("retry")
                let backoff = backoffNanos(attempt: job.attempt)
                record(job, type: EventTypes.dispatchAttempted, state: "", latency: latency) { o in
                    o.field("error", error.message)
                    o.field("status", error.statusName)
                    o.field("retry_in_ms", Int(backoff / 1_000_000))
                }
                state.withLock { s in
                    s.jobs.append(Job(event: job.event, attempt: job.attempt + 1, dueNanos: Clock.monotonicNanos() + backoff))
                }
            } else {
                metrics.dispatch("failed")
                logger.warning("dispatch of \(job.event.subject) to \(connector.slot) failed for good: \(error.message)")
                let back = job.event.type == EventTypes.dispatchRequested ? OrderState.released.rawValue : ""
                record(job, type: EventTypes.dispatchFailed, state: back, latency: latency) { o in
                    o.field("error", error.message)
                    o.field("status", error.statusName)
                    o.field("final", true)
                }
            }
        }
    }

    /// Exponential backoff with full jitter, capped.
    private func backoffNanos(attempt: Int) -> UInt64 {
        let base = Double(policy.initialBackoffMillis) * Double(1 << min(attempt - 1, 20))
        let capped = min(base, Double(policy.maxBackoffMillis))
        let jittered = capped / 2 + Double.random(in: 0...(capped / 2))
        return UInt64(jittered * 1_000_000)
    }

    private func record(_ job: Job, type: String, state: String, latency: Double, _ fields: (inout JSONWriter.ObjectWriter) -> Void) {
        var writer = JSONWriter()
        writer.object { o in
            o.field("connector", connector.slot)
            o.field("event", job.event.id)
            o.field("attempt", job.attempt)
            o.field("latency_ms", (latency * 1_000_000).rounded() / 1000)
            fields(&o)
        }
        let event = BusEvent(
            id: "", source: "/orderhub/\(connector.slot)", type: type, subject: job.event.subject, data: writer.bytes,
            producer: connector.slot, timeUnixNanos: Clock.wallNanos(), sequence: 0, state: state)
        if case .failure(let error) = committer.commitBlocking(CommitRequest(subject: job.event.subject, events: [event], precondition: .existingLenient)) {
            logger.error("could not record \(type) for \(job.event.subject): \(error)")
        }
    }
}
