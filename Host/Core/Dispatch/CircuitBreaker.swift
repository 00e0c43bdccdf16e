/// Stops a connector from hammering an endpoint that keeps failing: after `threshold`
/// consecutive temporary failures the circuit opens for `openNanos`; then one probe goes
/// through (half-open) and its outcome closes or re-opens it. Deliveries wait while it is
/// open; they are not charged attempts.
struct CircuitBreaker: Sendable {
    enum Phase: String, Sendable { case closed, open, halfOpen = "half_open" }

    let threshold: Int
    let openNanos: UInt64
    private(set) var phase = Phase.closed
    private(set) var consecutiveFailures = 0
    private(set) var openUntil: UInt64 = 0
    private(set) var opened = 0
    private var probing = false

    init(threshold: Int, openNanos: UInt64) {
        self.threshold = threshold
        self.openNanos = openNanos
    }

    /// nil when a delivery may start now; otherwise when to look again (0 = when woken).
    mutating func blockedUntil(now: UInt64) -> UInt64? {
        switch phase {
        case .closed: return nil
        case .open:
            if now < openUntil { return openUntil }
            phase = .halfOpen
            return nil
        case .halfOpen: return probing ? 0 : nil
        }
    }

    /// A delivery starts (in half-open, it is the one probe).
    mutating func started() { if phase == .halfOpen { probing = true } }

    /// The delivery that started did not go out (the dispatch lease lapsed first): no outcome,
    /// and in half-open the next delivery is the probe.
    mutating func withdrawn() { if phase == .halfOpen { probing = false } }

    mutating func succeeded() {
        consecutiveFailures = 0
        phase = .closed
        probing = false
    }

    /// A temporary failure; true when this one opened a closed circuit (a failed half-open
    /// probe re-opens it quietly: it was never closed).
    mutating func failed(now: UInt64) -> Bool {
        consecutiveFailures += 1
        probing = false
        guard phase == .halfOpen || consecutiveFailures >= threshold else { return false }
        let wasClosed = phase == .closed
        phase = .open
        openUntil = now + openNanos
        if wasClosed { opened += 1 }
        return wasClosed
    }

    /// The system answered (even with a refusal): the endpoint is reachable.
    mutating func answered() { succeeded() }
}
