import HubJSON
import HubLoader

/// A hub composition: which plugin fills which slot, pinned by checksum, with its config,
/// and the order of the intake pipeline. See docs/manifest.md for every key.
public struct Manifest: Sendable {
    /// Where a value came from, for messages: file:line:column.
    public struct Position: Sendable, CustomStringConvertible {
        public let file: String
        public let line: Int
        public let column: Int
        public var description: String { "\(file):\(line):\(column)" }
    }

    /// How the host retries a connector's deliveries.
    public struct RetryPolicy: Sendable, Equatable {
        public var maxAttempts: Int = 5
        public var initialBackoffMillis: Int = 200
        public var maxBackoffMillis: Int = 10_000
        public init() {}
    }

    /// How the host drives one connector beyond retries: parallel deliveries, the circuit
    /// breaker that stops hammering a failing endpoint, and reconciliation of stale orders.
    public struct ConnectorPolicy: Sendable, Equatable {
        /// Deliveries in flight at once (the plugin must be thread_safe for more than one to overlap).
        public var concurrency: Int = 4
        /// Consecutive temporary failures that open the circuit.
        public var circuitFailures: Int = 5
        /// How long an open circuit waits before one probe delivery.
        public var circuitOpenMillis: Int = 5_000
        /// How often the reconciler asks the system about stale orders; 0 turns it off.
        public var reconcileIntervalMillis: Int = 30_000
        /// An order is stale when its state has not changed for this long.
        public var staleAfterMillis: Int = 60_000
        /// Orders asked about per round, per state.
        public var reconcileBatch: Int = 200
        public init() {}
    }

    /// Red/yellow limits for the fulfillment health indicators (GET /v1/health/fulfillment).
    /// Blue is everything better than yellow.
    public struct HealthThresholds: Sendable, Equatable {
        public var latencyP99YellowMillis: Double = 60_000
        public var latencyP99RedMillis: Double = 300_000
        public var consistencyYellow: Double = 0.99
        public var consistencyRed: Double = 0.95
        public var repairYellow: Double = 0.9
        public var repairRed: Double = 0.5
        public init() {}
    }

    public struct Plugin: Sendable {
        public var slot: String
        public let kind: PluginDescriptor.Kind
        /// Absolute path of the library (relative paths resolve against the manifest's folder).
        public var library: String
        public var sha256: String?
        public var config: JSONValue
        public let subscribes: [String]
        public let retry: RetryPolicy
        public let position: Position
        public let libraryPosition: Position
        /// Where the sha256 value sits, or nil when the manifest has none yet.
        public let sha256Position: Position?
        /// Connectors only.
        public var connector = ConnectorPolicy()
        /// `version:` the semver range the library's own version must be in (nil: any).
        public var versionRange: VersionRange?
        /// `canary:` a second version serving a share of orders, chosen by order id.
        public var canary: Canary?
        /// `fields:` the order fields this plugin is handed (nil: all of them). See FieldGrant.
        public var fields: [String]?
        /// Where `fields:` sits, for messages.
        public var fieldsPosition: Position?
        /// `isolation:` where the plugin runs: in the hub's process, or in a worker process of
        /// its own that may crash without taking the hub down.
        public var isolation: Isolation = .inProcess
        /// `call_timeout_ms:` (isolation: process) a call that takes longer kills the worker.
        public var callTimeoutMillis = 60_000

        /// The config plugins see (create's JSON and config_get alike), with `_manifest_dir` set.
        public func effectiveConfig(manifestDirectory: String) -> JSONValue {
            var members = (config.objectValue ?? []).filter { $0.key != "_manifest_dir" }
            members.append(("_manifest_dir", .string(manifestDirectory)))
            return .object(members)
        }

        /// The slot as its canary version would fill it (same slot, policy and grants).
        public var canarySpec: Plugin? {
            guard let canary else { return nil }
            var copy = self
            copy.library = canary.library
            copy.sha256 = canary.sha256
            if let config = canary.config { copy.config = config }
            copy.canary = nil
            return copy
        }

        /// The config handed to create() as JSON.
        public func configJSON(manifestDirectory: String) -> [UInt8] {
            var writer = JSONWriter()
            writer.value(effectiveConfig(manifestDirectory: manifestDirectory))
            return writer.bytes
        }
    }

    public enum Isolation: String, Sendable, Equatable {
        case inProcess = "in_process"
        case process
    }

    /// A second version of a slot's plugin beside the first (`canary:` under a plugin).
    public struct Canary: Sendable, Equatable {
        public var library: String
        public var sha256: String?
        /// Share of orders (1–100) it serves.
        public var percent: Int
        /// Its own config, or nil to use the slot's.
        public var config: JSONValue?
        public var position: Position
        public var sha256Position: Position?
        public static func == (a: Canary, b: Canary) -> Bool {
            a.library == b.library && a.sha256 == b.sha256 && a.percent == b.percent && a.config == b.config
        }
    }

    /// Who may do what on the admin plane (`admin:`; docs/operations.md).
    public struct Admin: Sendable {
        /// File of `name role sha256 [slot]` lines (hashed tokens), relative to the manifest.
        public var tokensFile: String?
        /// Serve without tokens (only allowed on a loopback listen address).
        public var open = false
        public var position: Position?
        public init() {}
    }

    public let path: String
    public let directory: String
    public let listen: String?
    public let plugins: [Plugin]
    public let pipeline: [String]
    public var fulfillmentHealth = HealthThresholds()
    public var admin = Admin()

    public func plugin(_ slot: String) -> Plugin? { plugins.first { $0.slot == slot } }
    public var bus: Plugin? { plugins.first { $0.kind == .stateBus } }
    public var connectors: [Plugin] { plugins.filter { $0.kind == .connector } }
}

/// Every problem found in a manifest, each as `file:line:col: message`.
public struct ManifestError: Error, Sendable, CustomStringConvertible {
    public struct Problem: Sendable, CustomStringConvertible {
        public let position: Manifest.Position
        public let message: String
        public var description: String { "\(position): \(message)" }
    }
    public let problems: [Problem]
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

extension Manifest {
    /// A copy whose bus config has `overrides` merged in (benchmarks and tests point it at a scratch file).
    public func replacingBusConfig(_ overrides: [String: JSONValue]) -> Manifest {
        let replaced = plugins.map { plugin -> Plugin in
            guard plugin.kind == .stateBus else { return plugin }
            var members = (plugin.config.objectValue ?? []).filter { overrides[$0.key] == nil }
            for (key, value) in overrides.sorted(by: { $0.key < $1.key }) { members.append((key, value)) }
            var copy = plugin
            copy.config = .object(members)
            return copy
        }
        return with(plugins: replaced)
    }

    /// This manifest with other plugins (everything else kept).
    func with(plugins: [Plugin]) -> Manifest {
        var copy = Manifest(path: path, directory: directory, listen: listen, plugins: plugins, pipeline: pipeline)
        copy.fulfillmentHealth = fulfillmentHealth
        copy.admin = admin
        return copy
    }
}
