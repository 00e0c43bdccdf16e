import Dispatch
import HubJSON
import HubLoader
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One hub node among several sharing a bus that says it can be shared (HUB_CAP_BUS_SHARED,
/// PostgreSQL): follows the log that every node writes, and holds the dispatch leases.
///
/// On one thread, in a loop:
/// - waits for commits past its position (`wait_commits`: LISTEN/NOTIFY on PostgreSQL), reads
///   them and hands them to the router, so connectors and subscribers see every node's orders,
///   and refreshes the order-state cache;
/// - renews or takes the dispatch lease of each connector (DispatchLease). A lease gained is
///   acted on between two reads, where the position is exact: what the connector still owes
///   up to there is scanned from its watermark, and everything after comes from the log.
public final class Cluster: Sendable {
    public struct Status: Sendable {
        public let node: String
        public let position: UInt64
        public let leading: [String]
        public let error: String?
    }

    struct Hooks: Sendable {
        let gained: @Sendable (_ slot: String, _ upTo: UInt64) -> Bool
        let lost: @Sendable (_ slot: String, _ why: String) -> Void
        let route: @Sendable (CommittedGroup) -> Void
        let wantsEvents: @Sendable () -> Bool
    }

    private struct State: ~Copyable {
        var position: UInt64
        var leases: [DispatchLease]
        var stopping = false
        var error: String?
    }

    public let node: String
    let leaseNanos: UInt64
    private let bus: PluginInstance
    private let states: OrderStateCache
    private let logger: Logger
    private let state: Mutex<State>
    private let hooks = Mutex<Hooks?>(nil)
    private let exited = DispatchSemaphore(value: 0)
    private let started = Atomic<Bool>(false)

    init(node: String, leaseNanos: UInt64, bus: PluginInstance, states: OrderStateCache, connectors: [String], position: UInt64, logger: Logger) {
        self.node = node
        self.leaseNanos = leaseNanos
        self.bus = bus
        self.states = states
        self.logger = logger
        var random = SystemRandomNumberGenerator()
        let incarnation = String(random.next() as UInt64, radix: 36)
        state = Mutex(State(position: position, leases: connectors.map {
            DispatchLease(slot: $0, node: node, incarnation: incarnation, leaseNanos: leaseNanos)
        }))
    }

    /// A name for this node: the one given, or host name and process id (unique, and a
    /// restarted process waits out the old lease rather than assume it was the one holding it).
    public static func nodeName(_ given: String?) -> String {
        if let given, !given.isEmpty { return given }
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count - 1)
        let host = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(host.isEmpty ? "node" : host)-\(getpid())"
    }

    func start(_ hooks: Hooks) {
        self.hooks.withLock { $0 = hooks }
        guard !started.exchange(true, ordering: .relaxed) else { return }
        DispatchQueue(label: "orderhub.cluster.follow", qos: .userInitiated).async { [self] in run() }
    }

    /// Whether this node may start a delivery for `slot` now (it holds a valid lease).
    public func leads(_ slot: String) -> Bool {
        let now = Clock.monotonicNanos()
        return state.withLock { $0.leases.first { $0.slot == slot }?.allows(now: now) ?? false }
    }

    public var status: Status {
        state.withLock { s in
            Status(node: node, position: s.position, leading: s.leases.filter(\.held).map(\.slot), error: s.error)
        }
    }

    /// Stops following the log and taking leases (leases held stay held until `releaseLeases`).
    func stop() {
        let first = state.withLock { s -> Bool in
            defer { s.stopping = true }
            return !s.stopping
        }
        if first && started.load(ordering: .relaxed) { exited.wait() }
    }

    /// Gives up held leases on a clean stop (after the dispatchers have stopped), so another
    /// node takes over at once instead of after a lease period.
    func releaseLeases() {
        state.withLock { s in for index in s.leases.indices { s.leases[index].release(bus: bus) } }
    }

    private func run() {
        var nextTick: UInt64 = 0
        var backoff: UInt64 = 50_000_000
        while !state.withLock({ $0.stopping }) {
            let now = Clock.monotonicNanos()
            if now >= nextTick {
                tickLeases(now: now)
                nextTick = now + leaseNanos / 6
            }
            let position = state.withLock { $0.position }
            do throws(PluginCallError) {
                let wait = UInt32(max(1, min((nextTick - min(nextTick, Clock.monotonicNanos())) / 1_000_000, 250)))
                let tail = try bus.waitCommits(after: position, timeoutMillis: wait)
                if tail > position { try follow(from: position, to: tail) }
                state.withLock { $0.error = nil }
                backoff = 50_000_000
            } catch {
                let first = state.withLock { s -> Bool in
                    defer { s.error = error.message }
                    return s.error == nil
                }
                if first { logger.warning("cluster: cannot follow the log: \(error.message); retrying") }
                usleep(UInt32(backoff / 1_000))
                backoff = min(backoff * 2, 2_000_000_000)
            }
        }
        exited.signal()
    }

    /// Reads the records in (from, to] and routes them. Nobody to hand them to (no lease, no
    /// subscriber): only the position moves; a lease gained later scans what it owes anyway.
    private func follow(from: UInt64, to: UInt64) throws(PluginCallError) {
        guard let hooks = hooks.withLock({ $0 }), hooks.wantsEvents() else {
            state.withLock { $0.position = max($0.position, to) }
            return
        }
        var offset = from
        while offset < to {
            let (json, next) = try bus.read(after: offset, max: 1000)
            guard next > offset else { break }
            guard let records = (try? JSONParser.parse(json))?.arrayValue else {
                throw PluginCallError(plugin: "bus", call: "read_from", status: 7, message: "a page of the log after offset \(offset) is not a JSON array")
            }
            for record in records {
                let recordOffset = UInt64(record["offset"]?.intValue ?? 0)
                let events = (record["events"]?.arrayValue ?? []).compactMap { BusEvent(stored: $0, keepingState: true) }
                if let last = events.last, !last.subject.isEmpty {
                    let changed = events.last { !$0.state.isEmpty }?.state
                    states.observe(last.subject, state: changed, sequence: last.sequence)
                }
                var group = CommittedGroup(events: events, floor: recordOffset > 0 ? recordOffset - 1 : 0, last: recordOffset)
                group.fromLog = true
                hooks.route(group)
            }
            offset = next
            state.withLock { $0.position = max($0.position, next) }
        }
    }

    private func tickLeases(now: UInt64) {
        var leases = state.withLock { $0.leases }
        var changes: [(String, DispatchLease.Change)] = []
        for index in leases.indices {
            let change = leases[index].tick(bus: bus, now: now)
            if change != .none { changes.append((leases[index].slot, change)) }
        }
        let position = state.withLock { s -> UInt64 in
            s.leases = leases
            return s.position
        }
        guard let hooks = hooks.withLock({ $0 }) else { return }
        for (slot, change) in changes {
            switch change {
            case .gained:
                logger.info("cluster: node \(node) now dispatches for \(slot) (from log offset \(position))")
                if !hooks.gained(slot, position) {
                    // Could not take up the work (the bus did not answer the scan): let go, try again later.
                    state.withLock { s in if let index = s.leases.firstIndex(where: { $0.slot == slot }) { s.leases[index].release(bus: bus) } }
                }
            case .lost(let why):
                logger.warning("cluster: node \(node) stops dispatching for \(slot): \(why)")
                hooks.lost(slot, why)
            case .none: break
            }
        }
    }
}
