import HubJSON
import Logging
import Synchronization

/// What the host core provides behind the ABI's host services. The loader stays free of
/// the core's types; the core implements this and hands it to every instance.
public protocol HostServicesBackend: AnyObject, Sendable {
    func publish(from slot: String, _ event: BusEvent) -> Int32
    func subscribe(_ context: HostContext, pattern: String) -> UInt64
    func unsubscribe(_ context: HostContext, id: UInt64) -> Int32
    func kvGet(namespace: String, key: String) -> Result<(value: [UInt8], revision: UInt64)?, PluginCallError>
    func kvPut(namespace: String, key: String, value: [UInt8], expectedRevision: UInt64) -> Result<UInt64, PluginCallError>
    /// Every subscription of an instance that is gone (a restarted worker's).
    func dropSubscriptions(_ context: HostContext)
    /// Whether the KV is shared with other hub nodes (HUB_HOST_CAP_KV_SHARED).
    var kvShared: Bool { get }
}

extension HostServicesBackend {
    public func dropSubscriptions(_ context: HostContext) {}
    public var kvShared: Bool { false }
}

/// Per-instance state behind the `hctx` pointer: the slot's name, config, logger, metrics
/// and a way back to its instance for timers and events. Callbacks arrive on any thread,
/// so everything here is immutable or behind a Mutex.
public final class HostContext: Sendable {
    public let slot: String
    public let config: JSONValue
    let logger: Logger
    let metrics: MetricsRegistry
    let backend: (any HostServicesBackend)?
    private let metricIDs = Mutex<[UInt32]>([])
    private let owner = Mutex<PluginInstanceRef?>(nil)

    public init(slot: String, config: JSONValue, logger: Logger, metrics: MetricsRegistry, backend: (any HostServicesBackend)?) {
        self.slot = slot
        self.config = config
        self.logger = logger
        self.metrics = metrics
        self.backend = backend
    }

    public func attach(_ handle: any PluginHandle) { owner.withLock { $0 = PluginInstanceRef(handle: handle) } }
    /// The instance this context belongs to (in-process or remote), while it exists.
    public var handle: (any PluginHandle)? { owner.withLock { $0?.handle } }
    /// The in-process instance, for timers (a remote one keeps its timers in its worker).
    var instance: PluginInstance? { handle as? PluginInstance }

    func defineMetric(name: String, kind: Int32, help: String) -> UInt32? {
        guard let kind = MetricsRegistry.Kind(rawValue: kind),
            let first = name.utf8.first, (97...122).contains(first) || first == 95,
            name.utf8.allSatisfy({ (97...122).contains($0) || (48...57).contains($0) || $0 == 95 })
        else { return nil }
        let global = metrics.define("orderhub_plugin_\(name)", kind: kind, help: help, labels: "slot=\"\(slot)\"")
        return metricIDs.withLock { ids in
            ids.append(global)
            return UInt32(ids.count - 1)
        }
    }

    func recordMetric(_ id: UInt32, _ value: Double) {
        guard let global = metricIDs.withLock({ Int(id) < $0.count ? $0[Int(id)] : nil }) else { return }
        metrics.record(global, value)
    }
}

/// Weak link from a context to its instance (the instance owns the context).
struct PluginInstanceRef: Sendable {
    weak var handle: (any PluginHandle)?
}
