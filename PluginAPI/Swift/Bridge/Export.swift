public import CHubABI
import HubJSON
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Exports one Swift plugin type through the C ABI. A plugin's `Entry.swift` is just:
///
/// ```swift
/// @c(hub_plugin_entry_v1)
/// public func hubPluginEntry(_ major: UInt16, _ minor: UInt16,
///                            _ out: UnsafeMutablePointer<UnsafePointer<hub_plugin_desc>?>?) -> hub_status {
///     PluginExport.entry(MyRules.self, info: .init(id: "acme.rules", version: "1.0.0",
///                        kind: .rules, threading: .threadSafe), major, minor, out)
/// }
/// ```
public enum PluginExport {
    public static func entry<P: Plugin>(
        _ type: P.Type, info: PluginInfo, stateful: Bool = false,
        _ hostMajor: UInt16, _ hostMinor: UInt16,
        _ out: UnsafeMutablePointer<UnsafePointer<hub_plugin_desc>?>?
    ) -> hub_status {
        guard let out else { return HUB_INVALID }
        // Same rule the host applies, from the plugin's side.
        guard hostMajor == UInt16(HUB_ABI_MAJOR), hostMinor >= UInt16(HUB_ABI_MINOR) else { return HUB_UNSUPPORTED }
        let registered = registration.withLock { current -> Registration in
            if let current { return current }
            let shared = (P.self as? any StateBusPlugin.Type)?.sharedByNodes ?? false
            let made = Registration(info: info, stateful: stateful, controllable: !P.controlCommands.isEmpty, shared: shared) { context throws(PluginError) in
                try P(context: context)
            }
            current = made
            return made
        }
        out.pointee = UnsafePointer(registered.descriptor)
        return HUB_OK
    }
}

/// The one plugin type of this image, its factory and its static descriptor.
final class Registration: @unchecked Sendable {  // immutable after init; descriptor lives until exit
    let info: PluginInfo
    let make: @Sendable (PluginContext) throws(PluginError) -> any Plugin
    let descriptor: UnsafeMutablePointer<hub_plugin_desc>

    init(info: PluginInfo, stateful: Bool, controllable: Bool, shared: Bool, make: @escaping @Sendable (PluginContext) throws(PluginError) -> any Plugin) {
        self.info = info
        self.make = make
        var caps = UInt64(HUB_CAP_HEALTH) | UInt64(HUB_CAP_ON_EVENT) | UInt64(HUB_CAP_QUIESCE)
        if stateful { caps |= UInt64(HUB_CAP_STATE_EXPORT) }
        if controllable { caps |= UInt64(HUB_CAP_CONTROL) }
        if shared { caps |= UInt64(HUB_CAP_BUS_SHARED) }
        descriptor = .allocate(capacity: 1)
        descriptor.initialize(to: hub_plugin_desc(
            struct_size: UInt32(MemoryLayout<hub_plugin_desc>.size),
            abi_major: UInt16(HUB_ABI_MAJOR), abi_minor: UInt16(HUB_ABI_MINOR),
            id: strdup(info.id).map { UnsafePointer($0) }, version: strdup(info.version).map { UnsafePointer($0) },
            kind: info.kind.rawValue, kind_api_version: 1, threading: info.threading.rawValue, reserved0: 0,
            caps: caps,
            create: Thunks.create, destroy: Thunks.destroy, kind_api: Thunks.kindAPI, last_error: Thunks.lastError,
            health: Thunks.health, on_event: Thunks.onEvent, on_timer: nil, quiesce: Thunks.quiesce,
            export_state: Thunks.exportState, import_state: Thunks.importState, control: Thunks.control))
    }
}

let registration = Mutex<Registration?>(nil)

/// Boxes an instance with its last-error text, behind the `void *inst` the host holds.
final class InstanceBox: Sendable {
    let plugin: any Plugin
    /// The kind and table this instance serves, resolved once (kind_api is then a compare).
    let kind: UInt32
    nonisolated(unsafe) let table: UnsafeRawPointer?  // immutable, points at a static table
    private let errorText = Mutex<[CChar]>([0])
    /// Stable storage for the string last_error hands out (valid until the next call).
    private let errorPointer = Mutex<Int>(0)

    init(plugin: any Plugin) {
        self.plugin = plugin
        switch plugin {
        case is any StateBusPlugin: (kind, table) = (UInt32(HUB_KIND_STATE_BUS), UnsafeRawPointer(KindTables.bus))
        case is any RulesPlugin: (kind, table) = (UInt32(HUB_KIND_RULES), UnsafeRawPointer(KindTables.rules))
        case is any PredictorPlugin: (kind, table) = (UInt32(HUB_KIND_PREDICTOR), UnsafeRawPointer(KindTables.predictor))
        case is any ConnectorPlugin:
            let variant = (plugin is any CallbackConnectorPlugin ? 1 : 0) + (plugin is any StatusQueryConnectorPlugin ? 2 : 0)
            (kind, table) = (UInt32(HUB_KIND_CONNECTOR), UnsafeRawPointer(KindTables.connectors[variant]))
        default: (kind, table) = (0, nil)
        }
    }

    func setError(_ message: String) { errorText.withLock { $0 = Array(message.utf8CString) } }

    /// Returns a malloc'd copy that stays valid until the next call, then frees the previous one.
    func errorCString() -> UnsafePointer<CChar> {
        let copy = errorText.withLock { text in text.withUnsafeBufferPointer { strdup($0.baseAddress!)! } }
        errorPointer.withLock { previous in
            if previous != 0 { free(UnsafeMutableRawPointer(bitPattern: previous)) }
            previous = Int(bitPattern: copy)
        }
        return UnsafePointer(copy)
    }

    deinit {
        errorPointer.withLock { if $0 != 0 { free(UnsafeMutableRawPointer(bitPattern: $0)) } }
    }

    /// Runs `body`, turning a thrown PluginError into its status and last-error text.
    func call(_ body: () throws(PluginError) -> Void) -> hub_status {
        do {
            try body()
            return HUB_OK
        } catch {
            setError(error.message)
            return error.status
        }
    }

    static func from(_ inst: UnsafeMutableRawPointer?) -> InstanceBox {
        Unmanaged<InstanceBox>.fromOpaque(inst!).takeUnretainedValue()
    }

    /// Borrow without a retain/release pair (hot path; the host keeps the instance alive).
    static func with<R>(_ inst: UnsafeMutableRawPointer?, _ body: (InstanceBox) -> R) -> R {
        Unmanaged<InstanceBox>.fromOpaque(inst!)._withUnsafeGuaranteedRef(body)
    }
}
