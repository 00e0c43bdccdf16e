import Synchronization

/// Three external systems a hub connector talks to, on one loopback HTTP server, misbehaving on
/// demand: a WMS (ShipBob-like orders, HMAC-signed requests), a TMS (ShipEngine-like labels,
/// OAuth2 client credentials) and carrier tracking (EasyPost-like trackers, API key). Records move
/// through their statuses on a timer and each change is POSTed to the hub as a CloudEvent.
///
/// Tests drive thousands of orders through it with injected faults, then check the ledger:
/// every reference created exactly once, every callback accounted for.
///
/// ```swift
/// let vendor = FakeVendor()
/// try await vendor.start()
/// vendor.setRandomFaults(rate: 0.2, kinds: FakeVendor.Fault.all(timeoutMillis: 3000), seed: 1)
/// vendor.setCallback(.wms, url: hub + "/v1/connectors/wms/events", secret: "wms-secret", mode: .binary)
/// ```
public final class FakeVendor: Sendable {
    /// Bound on concurrent callback sends, so 30,000 status changes do not open 30,000 sockets.
    static let maxCallbackWorkers = 16
    static let maxCallbackAttempts = 10

    public let configuration: Configuration
    let state: Mutex<VendorState>
    let callbackHTTP = CallbackHTTP()

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        state = Mutex(VendorState(configuration: configuration))
    }

    public var port: Int { state.withLock { $0.running?.server.port ?? 0 } }
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Starts listening on 127.0.0.1:`port` (0 = any free port) and returns once it accepts.
    public func start(port: Int = 0) async throws {
        let server = try await FakeVendorHTTPServer.bind(port: port)
        let serving = Task { await server.run { request in await self.respond(to: request) } }
        let ticker: Task<Void, Never>? = configuration.progress ? Task { await self.runProgression() } : nil
        withState { s in
            s.stopped = false
            s.running = RunningServer(server: server, serving: serving, ticker: ticker)
        }
    }

    /// Closes the listener and connections (held requests included), stops status steps and
    /// callback sends, and shuts the event loop down.
    public func stop() async {
        let (running, workers) = state.withLock { s in
            s.stopped = true
            defer {
                s.running = nil
                s.callbackWorkers = [:]
            }
            return (s.running, Array(s.callbackWorkers.values))
        }
        var tasks = workers
        if let running { tasks += [running.serving] + (running.ticker.map { [$0] } ?? []) }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
        await running?.server.shutdown()
    }

    /// Faults applied one per request, in order, to the next vendor API requests (token endpoint
    /// included, admin `/_` endpoints not); they go before any random fault.
    public func inject(_ faults: [Fault]) {
        state.withLock { $0.queuedFaults.append(contentsOf: faults) }
    }

    /// Gives each vendor API request a fault with probability `rate`, its kind drawn from `kinds`.
    public func setRandomFaults(rate: Double, kinds: [Fault], seed: UInt64) {
        state.withLock { s in
            s.faultRate = rate
            s.faultKinds = kinds
            s.faultRandom = SplitMix64(seed: seed)
        }
    }

    public func setCallbackFaults(_ faults: CallbackFaults) {
        state.withLock { s in
            s.callbackFaults = faults
            s.callbackRandom = SplitMix64(seed: faults.seed)
        }
    }

    /// POSTs every later status change of `vendor`'s records to `url` as a signed CloudEvent.
    public func setCallback(_ vendor: Vendor, url: String, secret: String, mode: CallbackMode) {
        state.withLock { $0.callbackTargets[vendor] = CallbackTarget(url: url, secret: secret, mode: mode) }
    }

    public func ledger() -> Ledger { state.withLock { $0.ledger } }

    /// The current status of the record created for `reference`, nil when there is none.
    public func status(_ vendor: Vendor, reference: String) -> String? {
        state.withLock { $0.books[vendor]?.record(reference: reference)?.status }
    }

    /// Waits until no status step and no callback send (or held-back callback) is pending.
    /// - Returns: false when `timeout` passed first.
    public func waitForCallbacksIdle(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if state.withLock({ $0.isIdle }) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return state.withLock { $0.isIdle }
    }

    /// Signature the vendors use: lower-case hex HMAC-SHA256 of `message` with `secret`
    /// (for tests that sign WMS requests or check callbacks).
    public static func signature(_ message: [UInt8], secret: String) -> String {
        HMAC.sha256Hex(secret: secret, message: message)
    }

    /// Runs `body` under the lock, then starts callback workers for what it queued (inside the
    /// same lock, so `stop` never misses a worker).
    func withState<T: Sendable>(_ body: (inout VendorState) -> T) -> T {
        state.withLock { s in
            let result = body(&s)
            while !s.stopped, s.callbacks.needsWorker(limit: Self.maxCallbackWorkers) {
                let id = s.nextWorkerID
                s.nextWorkerID += 1
                s.callbacks.addWorker()
                s.callbackWorkers[id] = Task { await self.runCallbackWorker(id: id) }
            }
            return result
        }
    }

    /// Steps every record whose time has come; one task for all records.
    private func runProgression() async {
        while !Task.isCancelled {
            let wait = withState { $0.advanceDueRecords() }
            try? await Task.sleep(for: wait)
        }
    }
}
