import HubLoader

/// A unit of work for the group committer: the events of one step of one order (plus an
/// idempotency record for intake), with the state change it expects. Sequence numbers,
/// event ids and the lifecycle check are applied by the committer, in commit order, so
/// concurrent writers to one order can never interleave wrongly.
public struct CommitRequest: Sendable {
    public enum Precondition: Sendable {
        /// The order must not exist yet (intake).
        case newOrder
        /// The order must exist; state changes in the events must be allowed by the lifecycle.
        case existing
        /// Like `existing`, but a state change the lifecycle refuses is dropped, not failed
        /// (a late acknowledgement after a cancel is still recorded).
        case existingLenient
        /// A status an external system reported: the state moves if the lifecycle allows it or
        /// if it is further along the fulfilment chain (steps may be skipped); otherwise the
        /// event is recorded and the state stays (never backwards).
        case forward
        /// Hub-wide events with no order.
        case none
    }

    public var subject: String
    public var events: [BusEvent]
    public var record: IdempotencyRecord?
    public var precondition: Precondition

    public init(subject: String, events: [BusEvent], record: IdempotencyRecord? = nil, precondition: Precondition) {
        self.subject = subject
        self.events = events
        self.record = record
        self.precondition = precondition
    }
}

/// Why a commit was refused.
public enum CommitError: Error, Sendable, CustomStringConvertible {
    case orderExists(String)
    case orderNotFound(String)
    case transitionRefused(order: String, from: String, to: String)
    case duplicateIdempotencyKey(String)
    case bus(PluginCallError)
    case stopped

    public var description: String {
        switch self {
        case .orderExists(let id): return "order \(id) already exists"
        case .orderNotFound(let id): return "order \(id) not found"
        case .transitionRefused(let id, let from, let to): return "order \(id): transition \(from) -> \(to) is not in the lifecycle table"
        case .duplicateIdempotencyKey(let key): return "idempotency key '\(key)' was already used"
        case .bus(let error): return "state bus: \(error)"
        case .stopped: return "the hub is shutting down"
        }
    }
}

/// What a successful commit tells its writer.
public struct CommitResult: Sendable {
    /// The order's state just before these events (as the committer saw it, in commit order).
    public let stateBefore: String
    public let state: String
    public let lastSequence: UInt64
    public let offset: UInt64
    /// An offset strictly below the record holding these events (the log's tail before the commit).
    public let floor: UInt64
    /// The events as committed (with sequence, id and state filled in).
    public let events: [BusEvent]
}
