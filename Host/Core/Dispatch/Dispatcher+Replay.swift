import Dispatch
import HubJSON
import HubLoader
import Synchronization

extension Dispatcher {
    public enum ReplayError: Error, Sendable, CustomStringConvertible {
        case notFound(String)
        case refused(String)
        case unavailable(String)

        public var description: String {
            switch self {
            case .notFound(let id): return "no dead letter with event id '\(id)'"
            case .refused(let why), .unavailable(let why): return why
            }
        }
    }

    /// Sends a dead letter again, under its original event id (so the same idempotency key):
    /// records `dispatch.replayed` (a dispatch request moves the order back to `dispatched`)
    /// and queues the delivery. The entry leaves the list; a new failure puts it back.
    public func replay(_ eventID: String, actor: String) -> Result<String, ReplayError> {
        let entry: DeadLetters.Entry
        do throws(PluginCallError) {
            guard let found = try deadLetters.take(eventID) else { return .failure(.notFound(eventID)) }
            entry = found
        } catch {
            return .failure(.unavailable("the state bus could not answer: \(error.message)"))
        }
        func restore(_ error: ReplayError) -> Result<String, ReplayError> {
            try? deadLetters.add(entry)
            return .failure(error)
        }
        guard let original = recovery.original(eventID, order: entry.orderID) else {
            return restore(.unavailable("event \(eventID) is not on order \(entry.orderID)'s timeline"))
        }
        let isDispatch = original.type == EventTypes.dispatchRequested
        let current = (try? committer.state(of: entry.orderID))??.state ?? ""
        // Only a released order: one dispatched again meanwhile (a new key) must not get a second create.
        if isDispatch && current != OrderState.released.rawValue {
            return restore(.refused("order \(entry.orderID) is \(current); only a released order is dispatched again"))
        }
        var data = JSONWriter()
        data.object { o in
            o.field("connector", connector.slot)
            o.field("event", eventID)
            o.field("event_type", original.type)
            o.field("actor", actor)
        }
        let event = BusEvent(id: "", source: "/orderhub/\(connector.slot)", type: EventTypes.dispatchReplayed, subject: entry.orderID,
                             data: data.bytes, producer: "api", timeUnixNanos: Clock.wallNanos(), sequence: 0,
                             state: isDispatch ? OrderState.dispatched.rawValue : "")
        // Queued in the commit's reply, which runs before the group is routed: the watermark
        // cannot pass the replay record while the delivery is not yet queued.
        let done = DispatchSemaphore(value: 0)
        let outcome = Mutex<Result<String, CommitError>?>(nil)
        committer.commit(CommitRequest(subject: entry.orderID, events: [event], precondition: .existing)) { [self] result in
            if case .success(let committed) = result {
                enqueue([OutboxItem(event: original, floor: committed.floor, rebuild: isDispatch)])
            }
            outcome.withLock { $0 = result.map(\.state) }
            done.signal()
        }
        done.wait()
        switch outcome.withLock({ $0 })! {
        case .failure(let error): return restore(.unavailable("\(error)"))
        case .success(let state): return .success(state)
        }
    }
}
