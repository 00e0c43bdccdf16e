public import CHubABI
@_exported public import HubJSON

/// A failure a plugin reports to the host: an ABI status plus a message a person can act on.
public struct PluginError: Error, Sendable, CustomStringConvertible {
    public let status: hub_status
    public let message: String

    public init(_ status: hub_status, _ message: String) {
        self.status = status
        self.message = message
    }
    public static func invalid(_ message: String) -> PluginError { PluginError(HUB_INVALID, message) }
    public static func again(_ message: String) -> PluginError { PluginError(HUB_AGAIN, message) }
    public static func internalError(_ message: String) -> PluginError { PluginError(HUB_INTERNAL, message) }
    /// A sender that could not be authenticated (a status callback's signature): the host answers 401.
    public static func denied(_ message: String) -> PluginError { PluginError(HUB_DENIED, message) }
    public static func notFound(_ message: String) -> PluginError { PluginError(HUB_NOT_FOUND, message) }
    public var description: String { message }
}

/// What the host learns from a plugin's descriptor.
public struct PluginInfo: Sendable {
    public enum Kind: UInt32, Sendable {
        case stateBus = 1, rules = 2, predictor = 3, connector = 4
    }
    public enum Threading: UInt32, Sendable {
        case serialGlobal = 1, serialPerInstance = 2, threadSafe = 3
    }
    public let id: String
    public let version: String
    public let kind: Kind
    public let threading: Threading

    public init(id: String, version: String, kind: Kind, threading: Threading) {
        self.id = id
        self.version = version
        self.kind = kind
        self.threading = threading
    }
}

/// Everything an instance gets at creation: its config and the host's services.
public struct PluginContext: Sendable {
    public let host: HostServices
    /// The manifest's `config:` block for this slot.
    public let config: JSONValue

    /// Resolves a path from the config against the manifest's folder, as admins expect.
    public func resolvePath(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        guard let base = config["_manifest_dir"]?.stringValue, !base.isEmpty else { return path }
        return base + "/" + path
    }
}

/// A capability plugin written in Swift. Conform through one of the kind protocols below.
///
/// Implementation requirements: `init(context:)` validates the config and throws a
/// `PluginError` naming the bad key; an instance must be safe to use from the threads its
/// declared threading model allows.
public protocol Plugin: AnyObject, Sendable {
    init(context: PluginContext) throws(PluginError)
    /// Extra health detail; nil means healthy with nothing to add.
    func health() -> JSONValue?
    /// Called for committed events the instance subscribed to.
    func onEvent(_ event: EventView) throws(PluginError)
    /// State for a successor version (hot swap); nil means "nothing to hand over".
    func exportState() throws(PluginError) -> (bytes: [UInt8], schema: UInt32)?
    func importState(_ bytes: [UInt8], schema: UInt32) throws(PluginError)
    /// Hot swap, before `exportState`: finish background work and put what is held on lease
    /// back (e.g. unused promotion budget), by `deadline` (host monotonic ns). The host holds
    /// back new calls meanwhile. If the swap fails the instance goes on serving, so do not
    /// stop anything a later call needs.
    func quiesce(deadline: UInt64) throws(PluginError)
    /// An admin command (ABI 1.1 control): JSON arguments in, JSON answer out. Throw
    /// `PluginError(HUB_NOT_FOUND, ...)` for a command you do not know.
    func control(_ command: String, _ args: JSONValue) throws(PluginError) -> [UInt8]
    /// The admin commands `control` answers; non-empty sets HUB_CAP_CONTROL, so the host
    /// routes admin APIs (such as /v1/rulesets) only to plugins that serve them.
    static var controlCommands: [String] { get }
    /// Called once when the host destroys the instance: the last moment host services may be
    /// used (save state, flush). Stop background work here; `deinit` may run later, on any
    /// thread, after the host and the state bus are gone, so it must never call the host.
    func shutdown()
}

extension Plugin {
    public func health() -> JSONValue? { nil }
    public func onEvent(_ event: EventView) throws(PluginError) {}
    public func exportState() throws(PluginError) -> (bytes: [UInt8], schema: UInt32)? { nil }
    public func importState(_ bytes: [UInt8], schema: UInt32) throws(PluginError) {
        throw PluginError(HUB_UNSUPPORTED, "this plugin keeps no state to import")
    }
    public static var controlCommands: [String] { [] }
    public func quiesce(deadline: UInt64) throws(PluginError) {}
    public func shutdown() {}
    public func control(_ command: String, _ args: JSONValue) throws(PluginError) -> [UInt8] {
        throw PluginError(HUB_NOT_FOUND, "no admin command '\(command)' in this plugin")
    }
}

/// A rule engine: evaluates an order, returns the rules result JSON (see hub_rules_api_v1).
public protocol RulesPlugin: Plugin {
    func evaluate(_ order: OrderView) throws(PluginError) -> [UInt8]
}

/// A predictor: scores an order, returns the prediction JSON (see hub_predictor_api_v1).
public protocol PredictorPlugin: Plugin {
    func score(_ order: OrderView) throws(PluginError) -> [UInt8]
}

/// A connector: delivers an event to an external system, returns its acknowledgement JSON.
public protocol ConnectorPlugin: Plugin {
    func deliver(_ event: EventView) throws(PluginError) -> [UInt8]
}

/// A connector whose system calls back with status updates (ABI 1.2 `inbound`): check the
/// sender (throw `.denied` for a missing or wrong signature over `body`) and translate the
/// callback to `{"order_id", "status", "state", "exception"}`. `headers` have lower-case names.
public protocol CallbackConnectorPlugin: ConnectorPlugin {
    func inbound(_ event: EventView, headers: [String: String], body: [UInt8]) throws(PluginError) -> [UInt8]
}

/// A connector that can ask its system for an order's status (ABI 1.2 `query_status`, used by
/// the hub's reconciler): `context` is `{"order_id", "ack"}`; answer as `inbound` does, or
/// throw `.notFound` when the system does not know the order.
public protocol StatusQueryConnectorPlugin: ConnectorPlugin {
    func queryStatus(_ context: [UInt8]) throws(PluginError) -> [UInt8]
}

/// A state bus (see hub_bus_api_v1 for the contract of each function).
public protocol StateBusPlugin: Plugin {
    func append(_ events: [EventView], _ records: [IdempotencyRecordView]) throws(PluginError) -> UInt64
    func orderState(_ orderID: String) throws(PluginError) -> (state: String, sequence: UInt64)?
    func timeline(_ orderID: String) throws(PluginError) -> [UInt8]?
    func read(after offset: UInt64, max: Int) throws(PluginError) -> (json: [UInt8], next: UInt64)
    func idempotencyRecord(_ key: String) throws(PluginError) -> [UInt8]?
    func orders(inState state: String, max: Int) throws(PluginError) -> [UInt8]
    func kvGet(namespace: String, key: String) throws(PluginError) -> (value: [UInt8], revision: UInt64)?
    func kvPut(namespace: String, key: String, value: [UInt8], expectedRevision: UInt64) throws(PluginError) -> UInt64
    func flush() throws(PluginError)
    /// ABI 1.3: blocks until the log's last offset is above `after` or the timeout passes;
    /// returns the last offset. Offsets must become visible in order.
    func waitCommits(after: UInt64, timeoutMillis: UInt32) throws(PluginError) -> UInt64
    /// ABI 1.3: KV entries after (namespace, key), as `[{"ns","key","value_hex","rev"}]`.
    func kvScan(afterNamespace: String, afterKey: String, max: Int) throws(PluginError) -> [UInt8]
    /// ABI 1.3: idempotency records after `key`, as `[{"key","subject","fingerprint","response"}]`.
    func idempotencyScan(after key: String, max: Int) throws(PluginError) -> [UInt8]
    /// Whether several hub nodes may share this bus at once (HUB_CAP_BUS_SHARED).
    static var sharedByNodes: Bool { get }
}

extension StateBusPlugin {
    public static var sharedByNodes: Bool { false }
}
