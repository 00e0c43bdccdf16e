import Dispatch
import HubJSON
import HubLoader
import Logging
import Synchronization

/// Asks one connector's system, every `interval`, about the orders it acknowledged whose
/// state has not moved for `stale_after`, and repairs drift: when the system is ahead (a
/// callback was lost), the order moves forward with a `fulfillment.repaired` event holding
/// before and after; when the hub is ahead, a `fulfillment.drift_detected` event says so
/// (nothing moves backwards).
public final class Reconciler: Sendable {
    /// What one round found.
    public struct Round: Sendable, Equatable {
        public var checked = 0
        public var consistent = 0
        public var repaired = 0
        public var drift = 0
        public var errors = 0

        mutating func count(_ outcome: Outcome) {
            switch outcome {
            case .skipped: return
            case .consistent: consistent += 1
            case .repaired: repaired += 1
            case .drift: drift += 1
            case .failed:
                errors += 1
                return
            }
            checked += 1
        }
    }

    static let states: [OrderState] = [.acknowledged, .picked, .packed, .shipped]

    /// The connector's slot (its instance may be swapped between rounds).
    let connector: LiveSlot
    let policy: Manifest.ConnectorPolicy
    let bus: PluginInstance
    let committer: GroupCommitter
    let intake: CallbackIntake
    let health: FulfillmentHealth
    let logger: Logger
    private let stopped = Atomic<Bool>(false)
    private let started = Atomic<Bool>(false)
    private let wakeup = DispatchSemaphore(value: 0)
    private let exited = DispatchSemaphore(value: 0)
    private let roundLock = Mutex<Void>(())
    /// Hub-ahead drifts already recorded (order → state), so a round does not repeat them.
    private let reported = Mutex<[String: String]>([:])
    /// Orders found consistent (order → state, when): not asked again in that state for ten
    /// stale periods, so a round spends its requests on orders that may have drifted.
    private let agreed = Mutex<[String: (state: String, at: Int64)]>([:])

    /// Whether this node asks now: on nodes sharing a bus, only the one holding the connector's dispatch lease.
    private let leads: @Sendable () -> Bool

    init(connector: LiveSlot, policy: Manifest.ConnectorPolicy, bus: PluginInstance, committer: GroupCommitter,
         intake: CallbackIntake, health: FulfillmentHealth, logger: Logger, leads: @escaping @Sendable () -> Bool = { true }) {
        self.connector = connector
        self.leads = leads
        self.policy = policy
        self.bus = bus
        self.committer = committer
        self.intake = intake
        self.health = health
        self.logger = logger
    }

    func start() {
        guard policy.reconcileIntervalMillis > 0, !started.exchange(true, ordering: .relaxed) else { return }
        DispatchQueue(label: "orderhub.reconcile.\(connector.slot)").async { [self] in
            while !stopped.load(ordering: .relaxed) {
                _ = wakeup.wait(timeout: .now() + .milliseconds(policy.reconcileIntervalMillis))
                if stopped.load(ordering: .relaxed) { break }
                guard leads() else { continue }
                let round = runRound()
                if round.repaired + round.drift > 0 {
                    logger.info("reconcile \(connector.slot): checked \(round.checked), repaired \(round.repaired), drift \(round.drift)")
                }
            }
            exited.signal()
        }
    }

    func stop() {
        stopped.store(true, ordering: .relaxed)
        guard started.load(ordering: .relaxed) else { return }
        wakeup.signal()
        exited.wait()
    }

    /// One pass over the stale orders (also run on demand: POST /v1/connectors/{slot}/reconcile).
    /// Orders are asked about on `concurrency` threads, like deliveries.
    public func runRound(staleAfterMillis: Int? = nil) -> Round {
        roundLock.withLock { _ in
            let total = Mutex(Round())
            let staleNanos = Int64(staleAfterMillis ?? policy.staleAfterMillis) * 1_000_000
            let workers = max(1, policy.concurrency)
            for state in Self.states {
                // Orders found consistent lately are not asked again, and must not fill the batch
                // either (or orders sitting consistently in a state would starve newer ones).
                let now = Clock.wallNanos()
                let memory = max(staleNanos, 1_000_000_000) * 10
                let recent = agreed.withLock { seen in Set(seen.filter { $0.value.state == state.rawValue && now - $0.value.at < memory }.keys) }
                let fetched = (try? bus.orders(inState: state.rawValue, max: UInt32(policy.reconcileBatch + min(recent.count, 100_000)))) ?? []
                let ids = Array(fetched.lazy.filter { !recent.contains($0) }.prefix(policy.reconcileBatch))
                DispatchQueue.concurrentPerform(iterations: min(workers, max(ids.count, 1))) { worker in
                    for index in stride(from: worker, to: ids.count, by: workers) {
                        let outcome = check(ids[index], staleNanos: staleNanos)
                        total.withLock { $0.count(outcome) }
                    }
                }
            }
            return total.withLock { $0 }
        }
    }

    enum Outcome { case skipped, consistent, repaired, drift, failed }

    private func check(_ id: String, staleNanos: Int64) -> Outcome {
        guard let json = try? bus.timeline(id), let events = (try? JSONParser.parse(json))?.arrayValue else { return .skipped }
        let lastChange = events.last { $0["orderstate"] != nil }?["time"]?.stringValue.flatMap(Timestamp.parseRFC3339) ?? 0
        guard Clock.wallNanos() - lastChange >= staleNanos else { return .skipped }
        // Only orders this connector's system accepted are its to answer for.
        guard let ack = events.last(where: {
            $0["type"]?.stringValue == EventTypes.dispatchAcknowledged && $0["data"]?["connector"]?.stringValue == connector.slot
        }) else { return .skipped }
        guard let before = events.last(where: { $0["orderstate"] != nil })?["orderstate"]?.stringValue,
              let current = OrderState(rawValue: before) else { return .skipped }
        let now = Clock.wallNanos()
        if let last = agreed.withLock({ $0[id] }), last.state == before, now - last.at < max(staleNanos, 1_000_000_000) * 10 { return .skipped }
        let context = JSONValue.object([("order_id", .string(id)), ("ack", ack["data"]?["ack"] ?? .null)])
        var writer = JSONWriter()
        writer.value(context)
        let report: StatusReport
        do {
            let context = writer.bytes
            report = try StatusReport(try connector.use(order: id) { instance throws(PluginCallError) in try instance.queryStatus(context) }, connector: connector.slot)
        } catch let error as PluginCallError where error.status == 8 {
            health.checked(id, consistent: false, repaired: false)
            noteDrift(id, before: before, system: "unknown", vendorStatus: "not found: \(error.message)")
            return .drift
        } catch {
            return .failed
        }
        guard let system = report.state else { return .skipped }
        if system == current {
            health.checked(id, consistent: true, repaired: false)
            agreed.withLock { seen in
                if seen.count > 200_000 { seen.removeAll() }
                seen[id] = (before, now)
            }
            return .consistent
        }
        if Lifecycle.reportable(current, system) {
            let repaired = repair(id, before: current, after: system, vendorStatus: report.vendorStatus)
            health.checked(id, consistent: false, repaired: repaired)
            return repaired ? .repaired : .drift
        }
        health.checked(id, consistent: false, repaired: false)
        noteDrift(id, before: before, system: system.rawValue, vendorStatus: report.vendorStatus)
        return .drift
    }

    private func repair(_ id: String, before: OrderState, after: OrderState, vendorStatus: String) -> Bool {
        var data = JSONWriter()
        data.object { o in
            o.field("connector", connector.slot)
            o.field("before", before.rawValue)
            o.field("after", after.rawValue)
            o.field("status", vendorStatus)
            o.field("reason", "the system reported '\(vendorStatus)' on a status check; its callback never arrived")
        }
        let event = BusEvent(id: "", source: "/orderhub/\(connector.slot)", type: EventTypes.fulfillmentRepaired, subject: id,
                             data: data.bytes, producer: connector.slot, timeUnixNanos: Clock.wallNanos(), sequence: 0, state: after.rawValue)
        guard case .success(let result) = committer.commitBlocking(CommitRequest(subject: id, events: [event], precondition: .forward)),
              result.state == after.rawValue, result.stateBefore != result.state else { return false }
        let (intake, order, previous) = (self.intake, id, result.stateBefore)
        Task { await intake.noteFirstStatus(order, before: previous, after: after) }
        return true
    }

    private func noteDrift(_ id: String, before: String, system: String, vendorStatus: String) {
        let fresh = reported.withLock { seen -> Bool in
            guard seen[id] != system else { return false }
            if seen.count > 100_000 { seen.removeAll() }
            seen[id] = system
            return true
        }
        guard fresh else { return }
        var data = JSONWriter()
        data.object { o in
            o.field("connector", connector.slot)
            o.field("hub_state", before)
            o.field("system_state", system)
            o.field("status", vendorStatus)
        }
        let event = BusEvent(id: "", source: "/orderhub/\(connector.slot)", type: EventTypes.fulfillmentDrift, subject: id, data: data.bytes,
                             producer: connector.slot, timeUnixNanos: Clock.wallNanos(), sequence: 0)
        _ = committer.commitBlocking(CommitRequest(subject: id, events: [event], precondition: .existingLenient))
    }
}
