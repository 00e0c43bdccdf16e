import Dispatch
import HubJSON
import HubLoader
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A running hub: the plugins of one manifest, the group committer, the connectors'
/// dispatchers and the order service. Built by `start`, recomposed by `apply` (Composer),
/// torn down by `shutdown`.
public final class Hub: Sendable {
    public let plugins: PluginSet
    public let committer: GroupCommitter
    public let orders: OrderService
    public let metrics: HostMetrics
    /// Ruleset drafts, publishing and the sandbox (/v1/rulesets), through the rules plugin.
    public let rules: RulesAdmin
    /// Status callbacks from warehouses and carriers (/v1/connectors/{slot}/events).
    public let callbacks: CallbackIntake
    /// The fulfilment health indicators (/v1/health/fulfillment).
    public let health: FulfillmentHealth
    /// Plans and carries out changes to the running composition (`orderhub apply`).
    public let composer: Composer
    /// Tokens and roles for the HTTP API (the manifest's `admin` section).
    public let access: AccessControl
    /// Every admin action, as events (GET /v1/audit).
    public let audit: AuditLog
    let router: EventRouter
    /// This node among others sharing the bus (PostgreSQL); nil on a bus only one hub writes.
    public let cluster: Cluster?
    /// Host services for plugins created later (apply, canaries).
    let services: HubServices
    let logger: Logger
    let options: Options

    /// What the manifest made of the hub, changed only by the composer (under its lock).
    struct Composition: Sendable {
        var manifest: Manifest
        var dispatchers: [Dispatcher]
        var reconcilers: [Reconciler]
    }
    let composition: Mutex<Composition>
    /// Slots whose dispatcher is stopping after a lost lease (the lease is not taken again until it has).
    let stoppingSlots = Mutex<Set<String>>([])

    /// The manifest the hub runs now: the one it started with, as changed by `apply`,
    /// canary promotions and rollbacks since.
    public var manifest: Manifest { composition.withLock { $0.manifest } }
    public var dispatchers: [Dispatcher] { composition.withLock { $0.dispatchers } }
    /// One per connector that can be asked for an order's status.
    public var reconcilers: [Reconciler] { composition.withLock { $0.reconcilers } }

    public struct Options: Sendable {
        /// Start connector workers (the benchmark measures up to "dispatch enqueued" without them).
        public var startDispatchers = true
        /// Resend deliveries a previous run left owed (the outbox).
        public var recoverPending = true
        /// Connector workers wait until `resumeDispatch()` (benchmarks queue work first).
        public var dispatchPaused = false
        /// This node's name among hub nodes sharing one bus (nil: host name and process id).
        public var node: String?
        /// How long a node's dispatch lease lasts without renewal: a dead node's connectors
        /// are taken over after about this long.
        public var leaseMillis = 15_000
        public init() {}
    }

    init(manifest: Manifest, plugins: PluginSet, committer: GroupCommitter, orders: OrderService, metrics: HostMetrics,
         dispatchers: [Dispatcher], router: EventRouter, services: HubServices, access: AccessControl, logger: Logger, options: Options,
         cluster: Cluster? = nil) {
        self.plugins = plugins
        self.cluster = cluster
        self.committer = committer
        self.orders = orders
        self.metrics = metrics
        rules = RulesAdmin(plugins: plugins)
        self.router = router
        self.services = services
        self.access = access
        audit = AuditLog(bus: plugins.bus, committer: committer)
        self.logger = logger
        self.options = options
        health = FulfillmentHealth(thresholds: manifest.fulfillmentHealth, registry: metrics.registry)
        callbacks = CallbackIntake(plugins: plugins, committer: committer, health: health, logger: logger)
        composition = Mutex(Composition(manifest: manifest, dispatchers: dispatchers, reconcilers: []))
        composer = Composer(logger: logger)
        composer.attach(self)
        let reconcilers = manifest.connectors.compactMap { makeReconciler($0) }
        composition.withLock { $0.reconcilers = reconcilers }
        if options.startDispatchers { for reconciler in reconcilers { reconciler.start() } }
    }

    /// A reconciler for a connector slot whose plugin answers status queries.
    func makeReconciler(_ spec: Manifest.Plugin) -> Reconciler? {
        guard let slot = plugins.slot(spec.slot), slot.primary.answersStatusQueries else { return nil }
        let leads = leadsCheck(spec.slot)
        return Reconciler(connector: slot, policy: spec.connector, bus: plugins.bus, committer: committer, intake: callbacks,
                          health: health, logger: logger, leads: leads)
    }

    /// Whether this node may work for `slot` now: always on its own bus; while it holds the
    /// slot's dispatch lease on a shared one.
    func leadsCheck(_ slot: String) -> @Sendable () -> Bool {
        guard let cluster else { return { true } }
        return { cluster.leads(slot) }
    }

    /// A dispatcher for a connector slot, routed the events it subscribes to.
    func makeDispatcher(_ spec: Manifest.Plugin, startOffset: UInt64, owed: [OutboxItem], minFloor: UInt64 = 0) -> Dispatcher? {
        guard let slot = plugins.slot(spec.slot) else { return nil }
        let fence = leadsCheck(spec.slot)
        let dispatcher = Dispatcher(connector: slot, spec: spec, bus: plugins.bus, committer: committer, metrics: metrics, logger: logger,
                                    startOffset: startOffset, owed: owed, paused: options.dispatchPaused, fence: fence, minFloor: minFloor)
        router.add(dispatcher, types: spec.subscribes)
        return dispatcher
    }

    /// The dispatch instruction a connector receives for an order (rebuilt from its timeline).
    public func dispatchPayload(order id: String) -> [UInt8]? { DispatchInstruction.delivery(order: id, bus: plugins.bus) }

    /// Lets connector workers start (after `Options.dispatchPaused`).
    public func resumeDispatch() { for dispatcher in dispatchers { dispatcher.resume() } }

    public func reconciler(_ slot: String) -> Reconciler? { reconcilers.first { $0.connector.slot == slot } }
    public func dispatcher(_ slot: String) -> Dispatcher? { dispatchers.first { $0.connector.slot == slot } }

    /// Loads and creates every plugin the manifest names, bus first. A plugin that cannot be
    /// loaded or created stops the start with its reason; instances already made are destroyed.
    public static func start(manifest: Manifest, logger: Logger, options: Options = Options()) throws(LoadError) -> Hub {
        let metrics = HostMetrics(registry: MetricsRegistry())
        let access: AccessControl
        do throws(AccessControl.FileError) { access = try AccessControl(tokensFile: manifest.admin.tokensFile) } catch {
            throw LoadError(.descriptorInvalid, path: error.file, "admin tokens: \(error)")
        }
        guard let busSpec = manifest.bus else {
            throw LoadError(.descriptorInvalid, path: manifest.path, "the manifest names no state_bus plugin")
        }
        let bus = try PluginSet.create(busSpec, manifest: manifest, metrics: metrics.registry, logger: logger, backend: nil)
        // A bus several nodes share: each connector's outbox is scanned by the node that takes
        // its dispatch lease (Cluster), not at start.
        let shared = bus.sharedByNodes
        // What connectors still owe from the previous run, read before anything new is written.
        let recovery = OutboxRecovery(bus: bus, logger: logger)
        let owed: (pending: [String: [OutboxItem]], tail: UInt64)
        do throws(PluginCallError) {
            owed = shared ? ([:], try bus.waitCommits(after: UInt64.max, timeoutMillis: 0))
                : try recovery.scan(manifest.connectors.map { OutboxRecovery.Connector(slot: $0.slot, types: $0.subscribes) })
        } catch {
            bus.destroy()
            throw LoadError(.createFailed, path: busSpec.library, "reading the outbox from the state bus failed: \(error)")
        }
        let router = EventRouter(logger: logger)
        // Shared bus: every node's commits reach the router from the log (Cluster), this node's included.
        let committer = GroupCommitter(bus: bus, metrics: metrics, logger: logger, tail: owed.tail) { if !shared { router.route($0) } }
        let cluster = shared
            ? Cluster(node: Cluster.nodeName(options.node), leaseNanos: UInt64(options.leaseMillis) * 1_000_000, bus: bus, states: committer.states,
                      connectors: options.startDispatchers ? manifest.connectors.map(\.slot) : [], position: owed.tail, logger: logger)
            : nil
        let services = HubServices(bus: bus, committer: committer, router: router)
        var slots: [LiveSlot] = []
        do throws(LoadError) {
            for spec in manifest.plugins where spec.kind != .stateBus {
                let instance = try PluginSet.make(spec, manifest: manifest, metrics: metrics.registry, logger: logger, backend: services)
                slots.append(LiveSlot(spec: spec, instance: instance))
                if let canary = spec.canarySpec {
                    let second = try PluginSet.make(canary, manifest: manifest, metrics: metrics.registry, logger: logger, backend: services)
                    do throws(SwapError) { _ = try slots.last!.startCanary(second, spec: canary, percent: spec.canary!.percent) } catch {
                        second.destroy()
                        throw LoadError(.createFailed, path: canary.library, "\(error)")
                    }
                    slots.last!.update(spec: spec)
                }
                router.setGrant(spec.fields.map(FieldGrant.init), slot: spec.slot)
            }
        } catch {
            committer.stop()
            PluginSet(bus: bus, slots: slots).destroyAll()
            throw error
        }
        let plugins = PluginSet(bus: bus, slots: slots)
        let connectors = manifest.connectors
        let dispatchEnabled = connectors.contains { $0.subscribes.contains(EventTypes.dispatchRequested) }
        let pipeline = manifest.pipeline.compactMap { plugins.slot($0) }
        let orders = OrderService(plugins: plugins, pipeline: pipeline, committer: committer, metrics: metrics, logger: logger,
                                  dispatchEnabled: dispatchEnabled)
        let hub = Hub(manifest: manifest, plugins: plugins, committer: committer, orders: orders, metrics: metrics,
                      dispatchers: [], router: router, services: services, access: access, logger: logger, options: options, cluster: cluster)
        if let cluster {
            // A delivery must end before another node could take the lease over (the fence is a third of it).
            for spec in manifest.connectors {
                if let timeout = spec.config["timeout_ms"]?.intValue, UInt64(max(timeout, 0)) * 3 >= UInt64(options.leaseMillis) {
                    logger.warning("connector \(spec.slot): timeout_ms \(timeout) is not under a third of the dispatch lease (\(options.leaseMillis) ms): a delivery cut off by a lapsed lease could be sent again by the node taking over; raise --lease-ms above \(timeout * 3)")
                }
            }
            cluster.start(Cluster.Hooks(
                gained: { [weak hub] slot, upTo in hub?.leaseGained(slot, upTo: upTo) ?? false },
                lost: { [weak hub] slot, why in hub?.leaseLost(slot, why: why) },
                route: { router.route($0) },
                wantsEvents: { router.hasConsumers }))
        } else if options.startDispatchers {
            let dispatchers = connectors.compactMap { spec -> Dispatcher? in
                // What the previous run left owed is queued before the workers start and before new
                // events are routed: it goes first, per order, and holds the watermark down.
                let recovered = options.recoverPending ? (owed.pending[spec.slot] ?? []).map { item -> OutboxItem in
                    var item = item
                    item.rebuild = item.event.type == EventTypes.dispatchRequested
                    return item
                } : []
                if !recovered.isEmpty { logger.info("connector \(spec.slot): resending \(recovered.count) delivery(ies) owed by the previous run") }
                return hub.makeDispatcher(spec, startOffset: owed.tail, owed: recovered)
            }
            hub.composition.withLock { $0.dispatchers = dispatchers }
        }
        return hub
    }

    /// Graceful stop: connectors finish the delivery in progress, the committer commits
    /// everything queued, the bus is flushed, plugins are destroyed (and stay mapped).
    public func shutdown(graceNanos: UInt64 = 5_000_000_000) {
        composer.stop()
        cluster?.stop()
        for reconciler in reconcilers { reconciler.stop() }
        // A connector still inside a delivery after the grace period is left alive (and the bus
        // with it): destroying it would free what that call is using.
        var busy = dispatchers.filter { !$0.stop(graceNanos: graceNanos) }.map(\.connector.slot)
        // Dispatchers stopping after a lost lease are not in the list: wait for them as well.
        let deadline = Clock.monotonicNanos() + graceNanos
        while !stoppingSlots.withLock({ $0.isEmpty }) && Clock.monotonicNanos() < deadline { usleep(10_000) }
        busy += stoppingSlots.withLock { Array($0) }
        committer.stop()
        // Deliveries are over and their outcomes committed: other nodes may take this node's
        // connectors at once.
        if busy.isEmpty { cluster?.releaseLeases() }
        do throws(PluginCallError) { try plugins.bus.flush() } catch { logger.warning("bus flush at shutdown: \(error)") }
        if busy.isEmpty { plugins.destroyAll() } else {
            logger.warning("connector(s) \(busy.joined(separator: ", ")) still delivering after the grace period: left loaded; what they owe is sent again on the next start")
        }
    }

    // MARK: Sharing the bus with other nodes

    /// This node took `slot`'s dispatch lease: it scans what the connector still owes up to
    /// where it follows the log from, and dispatches from there on. False when the bus could
    /// not answer (the lease is let go and taken again later).
    func leaseGained(_ slot: String, upTo: UInt64) -> Bool {
        guard let spec = manifest.connectors.first(where: { $0.slot == slot }) else { return false }
        // A dispatcher of this slot from an earlier lease is still finishing: not two at once.
        guard !stoppingSlots.withLock({ $0.contains(slot) }) else { return false }
        let recovery = OutboxRecovery(bus: plugins.bus, logger: logger)
        let owed: [OutboxItem]
        let tail: UInt64
        do throws(PluginCallError) {
            // Up to the log's tail, not just where this node has followed: the node that held the
            // lease may have recorded acknowledgements past that point. Routed items below the
            // tail are dropped by the new dispatcher (the scan has them).
            tail = max(upTo, try plugins.bus.waitCommits(after: UInt64.max, timeoutMillis: 0))
            owed = try recovery.scan([OutboxRecovery.Connector(slot: slot, types: spec.subscribes)], upTo: tail).pending[slot] ?? []
        } catch {
            logger.error("cluster: could not read what \(slot) owes: \(error)")
            return false
        }
        let items = owed.map { item -> OutboxItem in
            var item = item
            item.rebuild = item.event.type == EventTypes.dispatchRequested
            return item
        }
        if !items.isEmpty { logger.info("connector \(slot): taking over \(items.count) delivery(ies) still owed") }
        guard let dispatcher = makeDispatcher(spec, startOffset: tail, owed: items, minFloor: tail) else { return false }
        composition.withLock { $0.dispatchers.append(dispatcher) }
        return true
    }

    /// This node lost `slot`'s dispatch lease: its dispatcher stops taking work at once (the
    /// fence already holds it) and leaves the watermark to the node that holds the lease now.
    func leaseLost(_ slot: String, why: String) {
        let gone = composition.withLock { c -> [Dispatcher] in
            let gone = c.dispatchers.filter { $0.connector.slot == slot }
            c.dispatchers.removeAll { $0.connector.slot == slot }
            return gone
        }
        if !gone.isEmpty { stoppingSlots.withLock { _ = $0.insert(slot) } }
        for dispatcher in gone {
            router.remove(dispatcher)
            DispatchQueue.global(qos: .utility).async { [self] in
                dispatcher.stop(graceNanos: 5_000_000_000, saveWatermark: false)
                stoppingSlots.withLock { _ = $0.remove(slot) }
            }
        }
    }
}
