/// What a plugin says about itself, copied out of its C descriptor.
public struct PluginDescriptor: Sendable, Equatable {
    public enum Kind: UInt32, Sendable, CaseIterable {
        case stateBus = 1, rules = 2, predictor = 3, connector = 4
        /// The name used in manifests and in `orderhub plugin inspect`.
        public var name: String {
            switch self {
            case .stateBus: return "state_bus"
            case .rules: return "rules"
            case .predictor: return "predictor"
            case .connector: return "connector"
            }
        }
        public init?(name: String) {
            guard let kind = Self.allCases.first(where: { $0.name == name }) else { return nil }
            self = kind
        }
    }
    public enum Threading: UInt32, Sendable {
        case serialGlobal = 1, serialPerInstance = 2, threadSafe = 3
        public var name: String {
            switch self {
            case .serialGlobal: return "serial_global"
            case .serialPerInstance: return "serial_per_instance"
            case .threadSafe: return "thread_safe"
            }
        }
    }

    public let id: String
    public let version: String
    public let kind: Kind
    public let kindAPIVersion: UInt32
    public let threading: Threading
    public let abiMajor: UInt16
    public let abiMinor: UInt16
    public let capabilities: UInt64
    public let structSize: UInt32

    /// Capability names for humans (`orderhub plugin inspect`).
    public var capabilityNames: [String] {
        let names = ["health", "on_event", "on_timer", "quiesce", "state_export", "unload_safe", "control", "bus_shared"]
        return names.enumerated().filter { capabilities & (1 << UInt64($0.offset)) != 0 }.map(\.element)
    }
}
