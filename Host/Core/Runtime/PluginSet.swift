import HubJSON
import HubLoader
import Logging
import Synchronization

/// The plugins of the running hub: the bus, loaded first (everyone else's KV and events live
/// in it) and never swapped live, and one LiveSlot per other slot, in manifest order. Slots
/// are added, swapped and removed by the Composer while the hub runs.
public final class PluginSet: Sendable {
    public let bus: PluginInstance
    private let live: Mutex<[LiveSlot]>

    init(bus: PluginInstance, slots: [LiveSlot]) {
        self.bus = bus
        live = Mutex(slots)
    }

    /// Every slot but the bus's, in manifest order.
    public var slots: [LiveSlot] { live.withLock { $0 } }
    public func slot(_ name: String) -> LiveSlot? { live.withLock { $0.first { $0.name == name } } }

    /// The instance serving a slot now (the bus for the bus's slot; the primary otherwise).
    public func instance(_ slot: String) -> (any PluginHandle)? {
        slot == bus.slot ? bus : self.slot(slot)?.primary
    }

    /// Every live instance, bus first (canaries after their primary).
    public var instances: [any PluginHandle] { [bus] + slots.flatMap(\.instances) }

    func add(_ slot: LiveSlot) { live.withLock { $0.append(slot) } }
    func remove(_ name: String) { live.withLock { $0.removeAll { $0.name == name } } }

    /// Opens a library and checks that it is the kind the manifest says.
    public static func open(_ spec: Manifest.Plugin) throws(LoadError) -> PluginLibrary {
        let library = try PluginLibrary(path: spec.library, expectedSHA256: spec.sha256)
        guard library.descriptor.kind == spec.kind else {
            throw LoadError(.kindMismatch, path: spec.library,
                            "slot '\(spec.slot)' wants kind \(spec.kind.name) but '\(library.descriptor.id)' is a \(library.descriptor.kind.name)")
        }
        if let range = spec.versionRange {
            guard let version = SemanticVersion(library.descriptor.version), range.contains(version) else {
                throw LoadError(.versionRefused, path: spec.library,
                                "slot '\(spec.slot)' accepts versions \(range) but '\(library.descriptor.id)' is \(library.descriptor.version)")
            }
        }
        return library
    }

    static func create(_ spec: Manifest.Plugin, manifest: Manifest, metrics: MetricsRegistry, logger: Logger,
                       backend: (any HostServicesBackend)?, library opened: PluginLibrary? = nil) throws(LoadError) -> PluginInstance {
        let library: PluginLibrary
        if let opened { library = opened } else { library = try open(spec) }
        var pluginLogger = logger
        pluginLogger[metadataKey: "slot"] = "\(spec.slot)"
        let context = HostContext(slot: spec.slot, config: spec.effectiveConfig(manifestDirectory: manifest.directory), logger: pluginLogger, metrics: metrics, backend: backend)
        return try PluginInstance(library: library, context: context, configJSON: spec.configJSON(manifestDirectory: manifest.directory))
    }

    /// An instance for a slot, where its manifest entry says it runs: in this process, or in
    /// a worker process of its own (`isolation: process`).
    static func make(_ spec: Manifest.Plugin, manifest: Manifest, metrics: MetricsRegistry, logger: Logger,
                     backend: (any HostServicesBackend)?, library opened: PluginLibrary? = nil) throws(LoadError) -> any PluginHandle {
        guard spec.isolation == .process else {
            return try create(spec, manifest: manifest, metrics: metrics, logger: logger, backend: backend, library: opened)
        }
        var pluginLogger = logger
        pluginLogger[metadataKey: "slot"] = "\(spec.slot)"
        let context = HostContext(slot: spec.slot, config: spec.effectiveConfig(manifestDirectory: manifest.directory), logger: pluginLogger, metrics: metrics, backend: backend)
        let restarts = metrics.define("orderhub_plugin_worker_restarts_total", kind: .counter,
                                      help: "Times a plugin's worker process died and was restarted", labels: "slot=\"\(spec.slot)\"")
        let slot = spec.slot
        let remote = try RemotePlugin(library: spec.library, sha256: spec.sha256, context: context,
                                configJSON: spec.configJSON(manifestDirectory: manifest.directory), callTimeoutMillis: spec.callTimeoutMillis,
                                logger: pluginLogger) { [weak backend] reason, count in
            metrics.record(restarts, 1)
            // On the log as a hub-wide event (no order), beside the order's own plugin.call_failed.
            var data = JSONWriter()
            data.object { o in
                o.field("slot", slot)
                o.field("reason", reason)
                o.field("restarts", Int64(count))
            }
            _ = backend?.publish(from: slot, BusEvent(id: "", source: "/orderhub/host", type: "com.orderhub.plugin.worker_restarted.v1", subject: "",
                                                      data: data.bytes, producer: "host", timeUnixNanos: 0, sequence: 0))
        }
        // The same checks as an in-process library, against what the worker read.
        let descriptor = remote.descriptor
        if descriptor.kind != spec.kind {
            remote.destroy()
            throw LoadError(.kindMismatch, path: spec.library, "slot '\(spec.slot)' wants kind \(spec.kind.name) but '\(descriptor.id)' is a \(descriptor.kind.name)")
        }
        if let range = spec.versionRange, !(SemanticVersion(descriptor.version).map(range.contains) ?? false) {
            remote.destroy()
            throw LoadError(.versionRefused, path: spec.library, "slot '\(spec.slot)' accepts versions \(range) but '\(descriptor.id)' is \(descriptor.version)")
        }
        return remote
    }

    /// Destroys every instance, bus last. Libraries stay mapped (never dlclose'd).
    public func destroyAll() {
        for slot in slots.reversed() { for instance in slot.instances.reversed() { instance.destroy() } }
        bus.destroy()
    }
}
