import Foundation
import HubCore
import HubDevTools
import HubHTTP
import Hummingbird
import Logging
import ServiceLifecycle

/// A hub served over real HTTP on loopback whose connectors are the C HTTP connector with
/// the shipped vendor profiles, talking to a FakeVendor that plays the WMS, TMS and carrier
/// (and sends their signed callbacks back to the hub).
final class VendorHarness: @unchecked Sendable {  // fields set in start(), then read only
    let vendor: FakeVendor
    let directory: String
    var manifestPath = ""
    var hub: Hub!
    var baseURL = ""
    private var group: ServiceGroup?
    private var serverTask: Task<Void, Never>?

    struct Options {
        var connectors: [FakeVendor.Vendor] = [.wms]
        var maxAttempts = 8
        var concurrency = 4
        var circuit = "{failures: 5, open_ms: 300}"
        var reconcile = "{interval_ms: 0}"
        var timeoutMillis = 1000
        var callbackMode: [FakeVendor.Vendor: FakeVendor.CallbackMode] = [.wms: .binary, .tms: .structured, .carrier: .binary]
        var callbacks = true
    }

    init(configuration: FakeVendor.Configuration = .init(), name: String) {
        vendor = FakeVendor(configuration: configuration)
        directory = Products.tempDirectory(name)
    }

    static func start(_ options: Options = Options(), configuration: FakeVendor.Configuration = .init(),
                      name: String = #function) async throws -> VendorHarness {
        let harness = VendorHarness(configuration: configuration, name: name)
        try await harness.vendor.start()
        try harness.writeManifest(options)
        try await harness.serve()
        if options.callbacks {
            for connector in options.connectors {
                harness.vendor.setCallback(connector, url: harness.baseURL + "/v1/connectors/\(connector.rawValue)/events",
                                           secret: "\(connector.rawValue)-secret", mode: options.callbackMode[connector] ?? .binary)
            }
        }
        return harness
    }

    static func connectorEntry(_ vendor: FakeVendor.Vendor, base: String, options: Options) throws -> String {
        let profiles = Products.repository + "/adapters/profiles"
        let config: String
        switch vendor {
        case .wms:
            config = "{profile: \(profiles)/wms-shipbob.json, base_url: \"\(base)\", api_secret: wms-secret, webhook_secret: wms-secret, timeout_ms: \(options.timeoutMillis)}"
        case .tms:
            config = "{profile: \(profiles)/tms-shipengine.json, base_url: \"\(base)\", client_id: hub, client_secret: tms-secret, webhook_secret: tms-secret, timeout_ms: \(options.timeoutMillis)}"
        case .carrier:
            config = "{profile: \(profiles)/carrier-easypost.json, base_url: \"\(base)\", api_key: carrier-key, webhook_secret: carrier-secret, timeout_ms: \(options.timeoutMillis)}"
        }
        let subscribes = vendor == .wms ? "[com.orderhub.dispatch.requested.v1, com.orderhub.order.status_changed.v1]" : "[com.orderhub.dispatch.requested.v1]"
        return """
              \(vendor.rawValue):
                kind: connector
                library: \(try Products.library("HTTPConnector"))
                subscribes: \(subscribes)
                retry: {max_attempts: \(options.maxAttempts), initial_backoff_ms: 20, max_backoff_ms: 200}
                concurrency: \(options.concurrency)
                circuit: \(options.circuit)
                reconcile: \(options.reconcile)
                config: \(config)
            """
    }

    func writeManifest(_ options: Options) throws {
        let rulesPath = directory + "/rules.json"
        try TestManifest.defaultRules.write(toFile: rulesPath, atomically: true, encoding: .utf8)
        let connectors = try options.connectors.map { try Self.connectorEntry($0, base: vendor.baseURL, options: options) }
        let text = """
            version: 1
            plugins:
              bus:
                kind: state_bus
                library: \(try Products.library("StateBusSQLite"))
                config: {path: data/hub.db}
              rules:
                kind: rules
                library: \(try Products.library("RulesBasic"))
                config: {files: [rules.json]}
            \(connectors.joined(separator: "\n"))
            pipeline: [rules]
            """
        manifestPath = directory + "/hub.yaml"
        try text.write(toFile: manifestPath, atomically: true, encoding: .utf8)
        _ = try ManifestPinner.pin(path: manifestPath)
    }

    func serve() async throws {
        var logger = Logger(label: "test-hub")
        logger.logLevel = .error
        hub = try Hub.start(manifest: try ManifestParser.load(path: manifestPath), logger: logger)
        let ready = AsyncStream<Int>.makeStream()
        let app = Application(
            router: HubRoutes.router(hub: hub), configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { ready.continuation.yield($0.localAddress?.port ?? 0) }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        self.group = group
        serverTask = Task { try? await group.run() }
        for await port in ready.stream {
            baseURL = "http://127.0.0.1:\(port)"
            break
        }
    }

    /// Submits an order and returns its id.
    func order(_ ref: String) async throws -> String {
        let response = try await HTTP.postOrder(baseURL, key: "key-\(ref)", SampleOrders.order(ref: ref))
        guard response.status == 201, let id = response.object["id"] as? String else {
            throw HarnessError("POST /v1/orders answered \(response.status): \(response.text)")
        }
        return id
    }

    func state(_ id: String) async throws -> String {
        try await HTTP.send("GET", baseURL + "/v1/orders/\(id)").object["state"] as? String ?? ""
    }

    func timeline(_ id: String) async throws -> [[String: Any]] {
        try await HTTP.send("GET", baseURL + "/v1/orders/\(id)").object["timeline"] as? [[String: Any]] ?? []
    }

    /// Stops the hub (not the vendor), e.g. to restart it on another manifest.
    func stopHub() async {
        await group?.triggerGracefulShutdown()
        await serverTask?.value
        hub.shutdown()
    }

    func stop() async {
        await stopHub()
        await vendor.stop()
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
