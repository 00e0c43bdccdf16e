import HubJSON
import HubLoader
import Logging

/// The plugins a manifest names, loaded and created in order: the bus first (everyone
/// else's KV and events live in it), then the rest.
public final class PluginSet: Sendable {
    public let bus: PluginInstance
    public let instances: [PluginInstance]

    public func instance(_ slot: String) -> PluginInstance? { instances.first { $0.slot == slot } }

    init(bus: PluginInstance, others: [PluginInstance]) {
        self.bus = bus
        instances = [bus] + others
    }

    /// Opens a library and checks that it is the kind the manifest says.
    public static func open(_ spec: Manifest.Plugin) throws(LoadError) -> PluginLibrary {
        let library = try PluginLibrary(path: spec.library, expectedSHA256: spec.sha256)
        guard library.descriptor.kind == spec.kind else {
            throw LoadError(.kindMismatch, path: spec.library,
                            "slot '\(spec.slot)' wants kind \(spec.kind.name) but '\(library.descriptor.id)' is a \(library.descriptor.kind.name)")
        }
        return library
    }

    static func create(_ spec: Manifest.Plugin, manifest: Manifest, metrics: MetricsRegistry, logger: Logger,
                       backend: (any HostServicesBackend)?) throws(LoadError) -> PluginInstance {
        let library = try open(spec)
        var pluginLogger = logger
        pluginLogger[metadataKey: "slot"] = "\(spec.slot)"
        let context = HostContext(slot: spec.slot, config: spec.effectiveConfig(manifestDirectory: manifest.directory), logger: pluginLogger, metrics: metrics, backend: backend)
        return try PluginInstance(library: library, context: context, configJSON: spec.configJSON(manifestDirectory: manifest.directory))
    }

    /// Destroys every instance, bus last. Libraries stay mapped (never dlclose'd).
    public func destroyAll() {
        for instance in instances.reversed() where instance !== bus { instance.destroy() }
        bus.destroy()
    }
}
