/// What happened to a submitted order, for the HTTP layer to turn into a status code.
public enum IntakeOutcome: Sendable {
    /// 201: the order's events are durable. `body` is the response JSON.
    case created(id: String, state: String, body: [UInt8])
    /// The same key and body came before: the original response.
    case replayed(body: [UInt8])
    /// 409: the key was used with another body, or is still in flight.
    case conflict(String)
    /// 422: the order is not valid; every problem has its field path.
    case invalid([FieldProblem])
    /// 503: the hub cannot make the order durable right now.
    case unavailable(String)
}

/// What happened to a requested transition.
public enum TransitionOutcome: Sendable {
    case done(state: String, sequence: UInt64)
    case notFound
    case refused(from: String, allowed: [String])
    case invalid(FieldProblem)
    case unavailable(String)
}
