import Dispatch
import HubJSON
import HubLoader
import Logging
import Synchronization

/// `orderhub plugin check`: what an integrator runs on a plugin before any manifest names it.
/// Loads the library as the hub would, creates an instance with the given config against an
/// in-memory host (KV, publish, subscribe work; nothing is written anywhere), and exercises
/// the kind's functions with sample input, checking the ABI contract at every step.
public enum PluginConformance {
    public struct Result: Sendable {
        public let name: String
        public let passed: Bool
        public let detail: String
    }

    /// `configDirectory`: where the config's relative paths (a connector's profile, a model) resolve.
    public static func check(path: String, config: JSONValue, configDirectory: String = ".", slot: String = "check",
                             deliver: Bool = false) -> [Result] {
        var results: [Result] = []
        func record(_ name: String, _ passed: Bool, _ detail: String) { results.append(Result(name: name, passed: passed, detail: detail)) }

        let library: PluginLibrary
        do {
            library = try PluginLibrary(path: path, expectedSHA256: nil)
            let d = library.descriptor
            record("load", true, "\(d.id) \(d.version), \(d.kind.name), ABI \(d.abiMajor).\(d.abiMinor), \(d.threading.name)")
        } catch {
            record("load", false, error.message)
            return results
        }
        do {
            let again = try PluginLibrary(path: path, expectedSHA256: nil)
            record("entry is repeatable", again.descriptor == library.descriptor, "a second dlopen + entry gives the same descriptor")
        } catch {
            record("entry is repeatable", false, error.message)
        }
        let backend = SandboxBackend()
        var logger = Logger(label: "orderhub.plugin-check")
        logger.logLevel = .warning
        var members = (config.objectValue ?? []).filter { $0.key != "_manifest_dir" }
        members.append(("_manifest_dir", .string(configDirectory)))
        let effective = JSONValue.object(members)
        var configWriter = JSONWriter()
        configWriter.value(effective)
        let instance: PluginInstance
        do {
            let backendForKind: (any HostServicesBackend)? = library.descriptor.kind == .stateBus ? nil : backend
            let context = HostContext(slot: slot, config: effective, logger: logger, metrics: MetricsRegistry(), backend: backendForKind)
            instance = try PluginInstance(library: library, context: context, configJSON: configWriter.bytes)
            record("create", true, "accepted the config; kind table v1 found")
        } catch {
            record("create", false, error.message)
            return results
        }
        defer { instance.destroy() }
        results.append(contentsOf: KindExercise.run(instance, deliver: deliver))
        if instance.supportsControl {
            // ABI 1.1 control: an unknown command must be refused as NOT_FOUND with a reason.
            do {
                let answer = try instance.control("orderhub.check.no-such-command", Array("{}".utf8))
                record("control", false, "answered an unknown command instead of HUB_NOT_FOUND: \(String(decoding: answer.prefix(80), as: UTF8.self))")
            } catch {
                record("control", error.status == 8 && error.message != "no reason given",
                       "unknown command: \(error.statusName)\(error.message.isEmpty ? "" : " (\(error.message))")")
            }
        }
        if let health = instance.health() {
            let status = (try? JSONParser.parse(health))?["status"]?.stringValue
            record("health", ["ok", "degraded", "down"].contains(status ?? ""), "reports \(status.map { "\"\($0)\"" } ?? "no valid status: \(String(decoding: health.prefix(80), as: UTF8.self))")")
        }
        let published = backend.published
        if !published.isEmpty { record("publish", true, "\(published.count) event(s) published while checked") }
        return results
    }
}

/// An in-memory stand-in for the hub's services while a plugin is checked.
final class SandboxBackend: HostServicesBackend {
    private let store = Mutex<[String: (value: [UInt8], revision: UInt64)]>([:])
    private let events = Mutex<[BusEvent]>([])
    private let nextSubscription = Atomic<UInt64>(1)

    var published: [BusEvent] { events.withLock { $0 } }

    func publish(from slot: String, _ event: BusEvent) -> Int32 {
        events.withLock { $0.append(event) }
        return 0
    }
    func subscribe(_ context: HostContext, pattern: String) -> UInt64 { nextSubscription.add(1, ordering: .relaxed).oldValue }
    func unsubscribe(_ context: HostContext, id: UInt64) -> Int32 { 0 }
    func kvGet(namespace: String, key: String) -> Swift.Result<(value: [UInt8], revision: UInt64)?, PluginCallError> {
        .success(store.withLock { $0[namespace + "/" + key] })
    }
    func kvPut(namespace: String, key: String, value: [UInt8], expectedRevision: UInt64) -> Swift.Result<UInt64, PluginCallError> {
        store.withLock { all in
            let current = all[namespace + "/" + key]?.revision ?? 0
            guard expectedRevision == UInt64.max || expectedRevision == current else {
                return .failure(PluginCallError(plugin: namespace, call: "kv_put", status: 9, message: "revision is \(current)"))
            }
            all[namespace + "/" + key] = (value, current + 1)
            return .success(current + 1)
        }
    }
}
