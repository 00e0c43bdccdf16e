import HubLoader
import Logging

/// A running hub: the plugins of one manifest, the group committer, the connectors'
/// dispatchers and the order service. Built by `start`, torn down by `shutdown`.
public final class Hub: Sendable {
    public let manifest: Manifest
    public let plugins: PluginSet
    public let committer: GroupCommitter
    public let orders: OrderService
    public let metrics: HostMetrics
    public let dispatchers: [Dispatcher]
    /// Ruleset drafts, publishing and the sandbox (/v1/rulesets), through the rules plugin.
    public let rules: RulesAdmin
    /// Status callbacks from warehouses and carriers (/v1/connectors/{slot}/events).
    public let callbacks: CallbackIntake
    /// One per connector that can be asked for an order's status.
    public let reconcilers: [Reconciler]
    /// The fulfilment health indicators (/v1/health/fulfillment).
    public let health: FulfillmentHealth
    let router: EventRouter
    let logger: Logger

    public struct Options: Sendable {
        /// Start connector workers (the benchmark measures up to "dispatch enqueued" without them).
        public var startDispatchers = true
        /// Resend deliveries a previous run left owed (the outbox).
        public var recoverPending = true
        /// Connector workers wait until `resumeDispatch()` (benchmarks queue work first).
        public var dispatchPaused = false
        public init() {}
    }

    init(manifest: Manifest, plugins: PluginSet, committer: GroupCommitter, orders: OrderService, metrics: HostMetrics,
         dispatchers: [Dispatcher], router: EventRouter, logger: Logger, startReconcilers: Bool) {
        self.manifest = manifest
        self.plugins = plugins
        self.committer = committer
        self.orders = orders
        self.metrics = metrics
        self.dispatchers = dispatchers
        rules = RulesAdmin(plugins: plugins, pipeline: orders.pipeline)
        self.router = router
        self.logger = logger
        health = FulfillmentHealth(thresholds: manifest.fulfillmentHealth, registry: metrics.registry)
        callbacks = CallbackIntake(plugins: plugins, committer: committer, health: health, logger: logger)
        reconcilers = manifest.connectors.compactMap { [health, callbacks] spec -> Reconciler? in
            guard let instance = plugins.instance(spec.slot), instance.answersStatusQueries else { return nil }
            return Reconciler(connector: instance, policy: spec.connector, bus: plugins.bus, committer: committer, intake: callbacks,
                              health: health, logger: logger)
        }
        if startReconcilers { for reconciler in reconcilers { reconciler.start() } }
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
        guard let busSpec = manifest.bus else {
            throw LoadError(.descriptorInvalid, path: manifest.path, "the manifest names no state_bus plugin")
        }
        let bus = try PluginSet.create(busSpec, manifest: manifest, metrics: metrics.registry, logger: logger, backend: nil)
        // What connectors still owe from the previous run, read before anything new is written.
        let recovery = OutboxRecovery(bus: bus, logger: logger)
        let owed: (pending: [String: [OutboxItem]], tail: UInt64)
        do throws(PluginCallError) {
            owed = try recovery.scan(manifest.connectors.map { OutboxRecovery.Connector(slot: $0.slot, types: $0.subscribes) })
        } catch {
            bus.destroy()
            throw LoadError(.createFailed, path: busSpec.library, "reading the outbox from the state bus failed: \(error)")
        }
        let router = EventRouter(logger: logger)
        let committer = GroupCommitter(bus: bus, metrics: metrics, logger: logger, tail: owed.tail) { router.route($0) }
        let services = HubServices(bus: bus, committer: committer, router: router)
        var others: [PluginInstance] = []
        do throws(LoadError) {
            for spec in manifest.plugins where spec.kind != .stateBus {
                others.append(try PluginSet.create(spec, manifest: manifest, metrics: metrics.registry, logger: logger, backend: services))
            }
        } catch {
            committer.stop()
            PluginSet(bus: bus, others: others).destroyAll()
            throw error
        }
        let plugins = PluginSet(bus: bus, others: others)
        let connectors = manifest.connectors
        let dispatchers = options.startDispatchers ? connectors.compactMap { spec -> Dispatcher? in
            guard let instance = plugins.instance(spec.slot) else { return nil }
            // What the previous run left owed is queued before the workers start and before new
            // events are routed: it goes first, per order, and holds the watermark down.
            let recovered = options.recoverPending ? (owed.pending[spec.slot] ?? []).map { item -> OutboxItem in
                var item = item
                item.rebuild = item.event.type == EventTypes.dispatchRequested
                return item
            } : []
            if !recovered.isEmpty { logger.info("connector \(spec.slot): resending \(recovered.count) delivery(ies) owed by the previous run") }
            let dispatcher = Dispatcher(connector: instance, spec: spec, bus: bus, committer: committer, metrics: metrics, logger: logger,
                                        startOffset: owed.tail, owed: recovered, paused: options.dispatchPaused)
            router.add(dispatcher, types: spec.subscribes)
            return dispatcher
        } : []
        let dispatchEnabled = connectors.contains { $0.subscribes.contains(EventTypes.dispatchRequested) }
        let pipeline = manifest.pipeline.compactMap { plugins.instance($0) }
        let orders = OrderService(plugins: plugins, pipeline: pipeline, committer: committer, metrics: metrics, logger: logger,
                                  dispatchEnabled: dispatchEnabled)
        let hub = Hub(manifest: manifest, plugins: plugins, committer: committer, orders: orders, metrics: metrics,
                      dispatchers: dispatchers, router: router, logger: logger, startReconcilers: options.startDispatchers)
        return hub
    }

    /// Graceful stop: connectors finish the delivery in progress, the committer commits
    /// everything queued, the bus is flushed, plugins are destroyed (and stay mapped).
    public func shutdown(graceNanos: UInt64 = 5_000_000_000) {
        for reconciler in reconcilers { reconciler.stop() }
        // A connector still inside a delivery after the grace period is left alive (and the bus
        // with it): destroying it would free what that call is using.
        let busy = dispatchers.filter { !$0.stop(graceNanos: graceNanos) }.map(\.connector.slot)
        committer.stop()
        do throws(PluginCallError) { try plugins.bus.flush() } catch { logger.warning("bus flush at shutdown: \(error)") }
        if busy.isEmpty { plugins.destroyAll() } else {
            logger.warning("connector(s) \(busy.joined(separator: ", ")) still delivering after the grace period: left loaded; what they owe is sent again on the next start")
        }
    }
}
