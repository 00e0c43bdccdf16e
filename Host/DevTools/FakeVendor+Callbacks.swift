import Synchronization

/// Where and how one vendor's status callbacks go.
struct CallbackTarget: Sendable {
    let url: String
    let secret: String
    let mode: FakeVendor.CallbackMode
}

/// Pending callbacks as one chain per record: a record's callbacks go out one at a time in the
/// order they were queued, while different records' chains are served in parallel by a bounded
/// set of workers.
struct CallbackQueue: Sendable {
    private var chains: [String: [CallbackEvent]] = [:]
    /// Chains with an event to send and no send in flight.
    private var ready: [String] = []
    private var readyHead = 0
    /// Chains in `ready` or with a send in flight.
    private var busy: Set<String> = []
    /// Events held back to be sent after their record's next one (the reorder fault).
    private var held: [String: CallbackEvent] = [:]
    /// Events queued or in flight.
    private(set) var pending = 0
    private(set) var workers = 0

    var isIdle: Bool { pending == 0 && held.isEmpty }

    func needsWorker(limit: Int) -> Bool { workers < limit && readyHead < ready.count }

    mutating func addWorker() { workers += 1 }
    mutating func retireWorker() { workers -= 1 }

    mutating func append(_ event: CallbackEvent) {
        chains[event.chain, default: []].append(event)
        pending += 1
        if busy.insert(event.chain).inserted { ready.append(event.chain) }
    }

    mutating func hold(_ event: CallbackEvent) { held[event.chain] = event }
    mutating func takeHeld(_ chain: String) -> CallbackEvent? { held.removeValue(forKey: chain) }

    /// The next event of a ready chain; the chain stays busy until `finished`.
    mutating func next() -> CallbackEvent? {
        guard readyHead < ready.count else { return nil }
        let chain = ready[readyHead]
        readyHead += 1
        if readyHead >= 4096, readyHead * 2 >= ready.count {
            ready.removeFirst(readyHead)
            readyHead = 0
        }
        return chains[chain]?.removeFirst()
    }

    /// The send of `chain`'s first event is over; the chain's next event becomes ready.
    mutating func finished(_ chain: String) {
        pending -= 1
        if chains[chain]?.isEmpty ?? true {
            chains[chain] = nil
            busy.remove(chain)
        } else {
            ready.append(chain)
        }
    }
}

/// The callback fault drawn for one status change.
enum CallbackFaultDraw: Equatable {
    case clean, lost, duplicate, reorder
}

extension FakeVendor.CallbackFaults {
    func draw(using random: inout SplitMix64) -> CallbackFaultDraw {
        let roll = Double.random(in: 0..<1, using: &random)
        if roll < lost { return .lost }
        if roll < lost + duplicate { return .duplicate }
        if roll < lost + duplicate + reorder { return .reorder }
        return .clean
    }
}

extension VendorState {
    /// Queues the callback for a record's new status, with any callback fault applied. Runs under
    /// the same lock as the status change, so a record's callbacks queue in status order.
    mutating func recordChanged(_ record: VendorRecord) {
        guard let target = callbackTargets[record.vendor] else { return }
        let event = CallbackEvent(record: record, target: target, unixNanos: wallClockNanos())
        let earlier = callbacks.takeHeld(event.chain)
        // Only hold back what a later step will release.
        let canHold = earlier == nil && configuration.progress && !record.isFinal
        let draw = callbackFaults.draw(using: &callbackRandom)
        switch draw {
        case .lost:
            ledger.callbacksLost += 1
        case .duplicate:
            callbacks.append(event)
            callbacks.append(event)
            ledger.callbacksDuplicated += 1
        case .reorder where canHold:
            callbacks.hold(event)
        case .clean, .reorder:
            callbacks.append(event)
        }
        guard let earlier else { return }
        if draw != .lost { ledger.callbacksReordered += 1 }
        callbacks.append(earlier)
    }

    /// The next callback for worker `id`; nil retires the worker.
    mutating func nextCallback(worker id: Int) -> CallbackEvent? {
        if !stopped, let event = callbacks.next() { return event }
        callbacks.retireWorker()
        callbackWorkers[id] = nil
        return nil
    }
}

extension FakeVendor {
    func runCallbackWorker(id: Int) async {
        while let event = state.withLock({ $0.nextCallback(worker: id) }) {
            await deliver(event)
            withState { $0.callbacks.finished(event.chain) }
        }
    }

    /// Sends one callback as a real vendor would: 2xx is done; 429 waits Retry-After; 5xx and
    /// connection errors retry with backoff (100 ms doubling to 2 s); any other status gives up.
    private func deliver(_ event: CallbackEvent) async {
        let message = event.message()
        var backoff = Duration.milliseconds(100)
        for _ in 0..<Self.maxCallbackAttempts {
            if Task.isCancelled { return }
            state.withLock { $0.ledger.callbacksSent += 1 }
            switch await callbackHTTP.post(message, to: event.target.url) {
            case .delivered:
                state.withLock { $0.ledger.callbacksDelivered += 1 }
                return
            case .refused(let status):
                state.withLock { s in
                    s.ledger.callbacksRefused += 1
                    s.ledger.refusedStatusCodes[status, default: 0] += 1
                }
                return
            case .badURL:
                state.withLock { $0.ledger.callbacksAbandoned += 1 }
                return
            case .retryAfter(let seconds):
                try? await Task.sleep(for: .seconds(seconds))
            case .retry:
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(2))
            }
        }
        if Task.isCancelled { return }
        state.withLock { $0.ledger.callbacksAbandoned += 1 }
    }
}
