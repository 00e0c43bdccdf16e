/// Why a plugin library was refused. The message names the plugin's path, the field and
/// both values, so an admin can act on it without reading the loader's source.
public struct LoadError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case fileMissing, checksumMismatch, notALibrary, entryMissing, entryFailed
        case abiMismatch, descriptorInvalid, createFailed, kindMismatch, versionRefused
    }
    public let code: Code
    public let path: String
    public let message: String
    /// The plugin said "not now" (HUB_AGAIN at create: a database that does not answer yet):
    /// the same start may work later.
    public var temporary = false

    public init(_ code: Code, path: String, _ message: String) {
        self.code = code
        self.path = path
        self.message = message
    }
    public var description: String { "\(path): \(message)" }
}

/// A call into a loaded plugin failed; carries the plugin's own reason (last_error).
public struct PluginCallError: Error, Sendable, CustomStringConvertible {
    public let plugin: String
    public let call: String
    public let status: Int32
    public let message: String

    public init(plugin: String, call: String, status: Int32, message: String) {
        self.plugin = plugin
        self.call = call
        self.status = status
        self.message = message
    }
    public var statusName: String { PluginStatus.name(status) }
    public var description: String { "plugin '\(plugin)': \(call) returned \(statusName): \(message)" }
}

/// Names for hub_status values, for messages and timelines.
public enum PluginStatus {
    public static func name(_ status: Int32) -> String {
        switch status {
        case 0: return "OK"
        case 1: return "INVALID"
        case 2: return "UNSUPPORTED"
        case 3: return "AGAIN"
        case 4: return "TIMEOUT"
        case 5: return "NOMEM"
        case 6: return "STATE"
        case 7: return "INTERNAL"
        case 8: return "NOT_FOUND"
        case 9: return "CONFLICT"
        case 10: return "DENIED"
        default: return "STATUS_\(status)"
        }
    }
}
