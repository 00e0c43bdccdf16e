import HubJSON

/// What the hub's core calls on a plugin instance, wherever it runs: in the hub's process
/// (PluginInstance, through dlopen) or in a worker process of its own (RemotePlugin,
/// `isolation: process`). The state bus is always in-process (PluginInstance).
public protocol PluginHandle: AnyObject, Sendable {
    var slot: String { get }
    var descriptor: PluginDescriptor { get }
    /// The library as the manifest names it, and its checksum.
    var libraryPath: String { get }
    var sha256: String { get }
    /// "in_process" or "process".
    var isolation: String { get }
    /// The host side of the instance's host services (subscriptions are keyed by it).
    var context: HostContext { get }
    var isDestroyed: Bool { get }

    var acceptsCallbacks: Bool { get }
    var answersStatusQueries: Bool { get }
    var supportsControl: Bool { get }
    var supportsStateExport: Bool { get }

    func evaluate(_ order: OrderFields) throws(PluginCallError) -> [UInt8]
    func score(_ order: OrderFields) throws(PluginCallError) -> [UInt8]
    func deliver(_ event: BusEvent) throws(PluginInstance.DeliveryFailure) -> [UInt8]
    func inbound(_ event: BusEvent, requestJSON: [UInt8], rawBody: [UInt8]) throws(PluginCallError) -> [UInt8]
    func queryStatus(_ context: [UInt8]) throws(PluginCallError) -> [UInt8]
    func control(_ command: String, _ args: [UInt8]) throws(PluginCallError) -> [UInt8]
    func health() -> [UInt8]?
    func onEvent(_ event: BusEvent) throws(PluginCallError)
    func quiesce(deadlineMonotonicNanos deadline: UInt64) throws(PluginCallError)
    func exportState() throws(PluginCallError) -> (bytes: [UInt8], schema: UInt32)?
    func importState(_ bytes: [UInt8], schema: UInt32) throws(PluginCallError)
    func destroy()
}

extension PluginInstance: PluginHandle {
    public var libraryPath: String { library.path }
    public var sha256: String { library.sha256 }
    public var isolation: String { "in_process" }
}
