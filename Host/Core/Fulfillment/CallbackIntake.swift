import HubJSON
import HubLoader
import Logging
import Synchronization

/// Takes status callbacks from external systems (POST /v1/connectors/{slot}/events): the
/// connector checks the signature and maps the system's status; the hub drops duplicates
/// (by connector + CloudEvents source + id, recorded atomically with the event) and never
/// moves an order backwards (a late "packed" after "shipped" is recorded, the state stays).
public final class CallbackIntake: Sendable {
    public enum Outcome: Sendable {
        case accepted(order: String, state: String, applied: Bool)
        case duplicate(order: String)
        case denied(String)
        case invalid(String)
        case unknownConnector(String)
        case orderNotFound(String)
        case overloaded
        case unavailable(String)
    }

    /// A CloudEvent as it came over HTTP, plus what the connector needs to check the sender.
    public struct Callback: Sendable {
        public var id, source, type, time, subject, contentType: String
        public var data: [UInt8]
        public var headers: [(name: String, value: String)]
        public var rawBody: [UInt8]

        public init(id: String, source: String, type: String, time: String, subject: String, contentType: String, data: [UInt8],
                    headers: [(name: String, value: String)], rawBody: [UInt8]) {
            (self.id, self.source, self.type, self.time, self.subject, self.contentType) = (id, source, type, time, subject, contentType)
            self.data = data
            self.headers = headers
            self.rawBody = rawBody
        }
    }

    let plugins: PluginSet
    let committer: GroupCommitter
    let health: FulfillmentHealth
    let logger: Logger
    private let inFlight = Atomic<Int>(0)
    /// Callbacks waiting for their commit beyond this get 429 with Retry-After.
    let limit: Int

    init(plugins: PluginSet, committer: GroupCommitter, health: FulfillmentHealth, logger: Logger, limit: Int = 2048) {
        self.plugins = plugins
        self.committer = committer
        self.health = health
        self.logger = logger
        self.limit = limit
    }

    public func receive(slot: String, _ callback: Callback) async -> Outcome {
        guard let connector = plugins.slot(slot), connector.kind == .connector else {
            return .unknownConnector("no connector '\(slot)' in this hub")
        }
        let primary = connector.primary
        guard primary.acceptsCallbacks else { return .unknownConnector("connector '\(slot)' (\(primary.descriptor.id)) takes no callbacks") }
        guard inFlight.add(1, ordering: .relaxed).newValue <= limit else {
            inFlight.subtract(1, ordering: .relaxed)
            return .overloaded
        }
        defer { inFlight.subtract(1, ordering: .relaxed) }
        let report: StatusReport
        // Off the cooperative pool: the call may wait while the connector is being swapped.
        switch await BlockingLane.run({ self.translate(callback, by: connector) }) {
        case .success(let r): report = r
        case .failure(let failure): return failure.outcome
        }
        return await record(report, callback, slot: slot)
    }

    /// The callback goes to the slot's primary version (the order is not known until it is read).
    private func translate(_ callback: Callback, by connector: LiveSlot) -> Result<StatusReport, OutcomeError> {
        var headers = JSONWriter()
        headers.object { o in
            o.object("headers") { h in for (name, value) in callback.headers { h.field(name.lowercased(), value) } }
        }
        let event = BusEvent(id: callback.id, source: callback.source, type: callback.type, subject: callback.subject, data: callback.data,
                             contentType: callback.contentType, producer: connector.slot,
                             timeUnixNanos: Timestamp.parseRFC3339(callback.time) ?? 0, sequence: 0)
        do {
            let request = headers.bytes
            let answer = try connector.use(order: nil) { instance throws(PluginCallError) in
                try instance.inbound(event, requestJSON: request, rawBody: callback.rawBody)
            }
            let report = try StatusReport(answer, connector: connector.slot)
            guard !report.orderID.isEmpty else { return .failure(OutcomeError(.invalid("the callback names no order"))) }
            return .success(report)
        } catch let error as PluginCallError {
            switch error.status {
            case 10: return .failure(OutcomeError(.denied(error.message)))
            case 1: return .failure(OutcomeError(.invalid(error.message)))
            default: return .failure(OutcomeError(.unavailable("\(error)")))
            }
        } catch {
            return .failure(OutcomeError(.invalid("\(error)")))
        }
    }

    private func record(_ report: StatusReport, _ callback: Callback, slot: String) async -> Outcome {
        let order = report.orderID
        let before = await BlockingLane.run { (try? self.committer.state(of: order))??.state }
        guard let before else { return .orderNotFound("order '\(order)' is not known to this hub") }
        var data = JSONWriter()
        data.object { o in
            o.field("connector", slot)
            o.field("status", report.vendorStatus)
            if let state = report.state { o.field("state", state.rawValue) }
            if report.exception { o.field("exception", true) }
            o.field("previous_state", before)
            o.object("callback") { c in
                c.field("id", callback.id)
                c.field("source", callback.source)
                c.field("type", callback.type)
                if !callback.time.isEmpty { c.field("time", callback.time) }
            }
        }
        let event = BusEvent(id: "", source: "/orderhub/\(slot)", type: EventTypes.fulfillmentStatus, subject: order, data: data.bytes,
                             producer: slot, timeUnixNanos: Clock.wallNanos(), sequence: 0, state: report.state?.rawValue ?? "")
        var digest = SHA256()
        digest.update(callback.rawBody)
        let record = IdempotencyRecord(key: "cloudevent:\(slot):\(callback.source):\(callback.id)", subject: order,
                                       fingerprint: SHA256.hex(digest.finalize()), response: Array("{}".utf8))
        switch await committer.commit(CommitRequest(subject: order, events: [event], record: record, precondition: .forward)) {
        case .success(let result):
            let applied = report.state != nil && result.state == report.state?.rawValue && result.state != result.stateBefore
            if applied, let state = report.state { await noteFirstStatus(order, before: result.stateBefore, after: state) }
            return .accepted(order: order, state: result.state, applied: applied)
        case .failure(.duplicateIdempotencyKey): return .duplicate(order: order)
        case .failure(.orderNotFound): return .orderNotFound("order '\(order)' is not known to this hub")
        case .failure(let error): return .unavailable("\(error)")
        }
    }

    /// The first warehouse status of an order feeds the creation → first status latency.
    func noteFirstStatus(_ order: String, before: String, after: OrderState) async {
        let waiting: Set<String> = [OrderState.released.rawValue, OrderState.dispatched.rawValue, OrderState.acknowledged.rawValue]
        guard waiting.contains(before), after != .acknowledged, after != .canceled else { return }
        let created = await BlockingLane.run { () -> Int64? in
            guard let json = try? self.plugins.bus.timeline(order), let first = (try? JSONParser.parse(json))?.arrayValue?.first,
                  let time = first["time"]?.stringValue else { return nil }
            return Timestamp.parseRFC3339(time)
        }
        guard let created else { return }
        health.firstStatus(afterMillis: Double(max(0, Clock.wallNanos() - created)) / 1e6)
    }
}

/// Carries an Outcome through a Result's failure side.
struct OutcomeError: Error {
    let outcome: CallbackIntake.Outcome
    init(_ outcome: CallbackIntake.Outcome) { self.outcome = outcome }
}
