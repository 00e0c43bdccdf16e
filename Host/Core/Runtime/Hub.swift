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
    let router: EventRouter
    let logger: Logger

    public struct Options: Sendable {
        /// Start connector workers (the benchmark measures up to "dispatch enqueued" without them).
        public var startDispatchers = true
        /// Resend dispatch requests left pending by a previous run.
        public var recoverPending = true
        public init() {}
    }

    init(manifest: Manifest, plugins: PluginSet, committer: GroupCommitter, orders: OrderService, metrics: HostMetrics,
         dispatchers: [Dispatcher], router: EventRouter, logger: Logger) {
        self.manifest = manifest
        self.plugins = plugins
        self.committer = committer
        self.orders = orders
        self.metrics = metrics
        self.dispatchers = dispatchers
        rules = RulesAdmin(plugins: plugins, pipeline: orders.pipeline)
        self.router = router
        self.logger = logger
    }

    /// Loads and creates every plugin the manifest names, bus first. A plugin that cannot be
    /// loaded or created stops the start with its reason; instances already made are destroyed.
    public static func start(manifest: Manifest, logger: Logger, options: Options = Options()) throws(LoadError) -> Hub {
        let metrics = HostMetrics(registry: MetricsRegistry())
        guard let busSpec = manifest.bus else {
            throw LoadError(.descriptorInvalid, path: manifest.path, "the manifest names no state_bus plugin")
        }
        let bus = try PluginSet.create(busSpec, manifest: manifest, metrics: metrics.registry, logger: logger, backend: nil)
        let router = EventRouter(logger: logger)
        let committer = GroupCommitter(bus: bus, metrics: metrics, logger: logger) { router.route($0) }
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
            let dispatcher = Dispatcher(connector: instance, policy: spec.retry, committer: committer, metrics: metrics, logger: logger)
            router.add(dispatcher, types: spec.subscribes)
            return dispatcher
        } : []
        let dispatchEnabled = connectors.contains { $0.subscribes.contains(EventTypes.dispatchRequested) }
        let pipeline = manifest.pipeline.compactMap { plugins.instance($0) }
        let orders = OrderService(plugins: plugins, pipeline: pipeline, committer: committer, metrics: metrics, logger: logger,
                                  dispatchEnabled: dispatchEnabled)
        let hub = Hub(manifest: manifest, plugins: plugins, committer: committer, orders: orders, metrics: metrics,
                      dispatchers: dispatchers, router: router, logger: logger)
        if options.recoverPending && options.startDispatchers { hub.resendPendingDispatches() }
        return hub
    }

    /// Orders acknowledged as `dispatched` before a crash or stop get their request again
    /// (same event id, so the WMS sees the same idempotency key).
    func resendPendingDispatches() {
        let pending = orders.pendingDispatches(limit: 1_000_000)
        guard !pending.isEmpty else { return }
        logger.info("resending \(pending.count) dispatch request(s) left pending by the previous run")
        router.route(pending)
    }

    /// Graceful stop: connectors finish the delivery in progress, the committer commits
    /// everything queued, the bus is flushed, plugins are destroyed (and stay mapped).
    public func shutdown(graceNanos: UInt64 = 5_000_000_000) {
        for dispatcher in dispatchers { dispatcher.stop(graceNanos: graceNanos) }
        committer.stop()
        do throws(PluginCallError) { try plugins.bus.flush() } catch { logger.warning("bus flush at shutdown: \(error)") }
        plugins.destroyAll()
    }
}
