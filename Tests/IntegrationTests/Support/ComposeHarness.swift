import Foundation
import HubCore
import HubHTTP
import Hummingbird
import Logging
import ServiceLifecycle
import Testing

/// A hub over real HTTP whose rules slot is the counter fixture (Tests/Fixtures/counter_rules.c)
/// compiled into several versions, for swap, canary and rollback tests. Manifests are
/// written and pinned like an admin would, then applied through the API.
final class ComposeHarness: @unchecked Sendable {  // set once in start(), then read only
    let directory: String
    var hub: Hub!
    var baseURL = ""
    private var group: ServiceGroup?
    private var serverTask: Task<Void, Never>?

    /// The counter plugin built as `name` with `defines` (one .so per version, as authors ship them).
    static func counter(_ directory: String, _ name: String, defines: [String] = []) throws -> String {
        let output = directory + "/lib/\(name)/libcounter.so"
        try FileManager.default.createDirectory(atPath: directory + "/lib/\(name)", withIntermediateDirectories: true)
        try Products.compileC(Products.repository + "/Tests/Fixtures/counter_rules.c", to: output, defines: defines)
        return output
    }

    init(directory: String) { self.directory = directory }

    /// Writes `name`.yaml with the bus and a rules slot, pins it, returns its path.
    func manifest(_ name: String, rules: String, rulesExtra: String = "", extra: String = "", pipeline: String = "[rules]") throws -> String {
        let path = directory + "/\(name).yaml"
        let text = """
            version: 1
            plugins:
              bus:
                kind: state_bus
                library: \(try Products.library("StateBusSQLite"))
                config: {path: data/hub.db, synchronous: normal}
              rules:
                kind: rules
                library: \(rules)
            \(rulesExtra)
            \(extra)
            pipeline: \(pipeline)
            """
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        _ = try ManifestPinner.pin(path: path)
        return path
    }

    static func start(_ manifestPath: String, directory: String) async throws -> ComposeHarness {
        let harness = ComposeHarness(directory: directory)
        var logger = Logger(label: "test-compose")
        logger.logLevel = .warning
        harness.hub = try Hub.start(manifest: try ManifestParser.load(path: manifestPath), logger: logger)
        (harness.baseURL, harness.group, harness.serverTask) = await HubHarness.serve(harness.hub, logger: logger)
        return harness
    }

    func stop() async {
        await group?.triggerGracefulShutdown()
        await serverTask?.value
        hub.shutdown()
    }

    func apply(_ path: String, dryRun: Bool = false, token: String? = nil) async throws -> HTTPResult {
        var headers = ["Content-Type": "application/json"]
        if let token { headers["Authorization"] = "Bearer \(token)" }
        let body = try JSONSerialization.data(withJSONObject: ["manifest": path, "dry_run": dryRun])
        return try await HTTP.send("POST", baseURL + "/v1/admin/apply", headers: headers, body: body)
    }

    func post(_ path: String, token: String? = nil) async throws -> HTTPResult {
        try await HTTP.send("POST", baseURL + path, headers: token.map { ["Authorization": "Bearer \($0)"] } ?? [:])
    }

    /// The tags the rules slot answered for an order: ["v1.0.0", "n:17", "ip:..."].
    func tags(_ id: String, token: String? = nil) async throws -> [String] {
        let events = try await HTTP.send("GET", baseURL + "/v1/orders/\(id)/events", headers: token.map { ["Authorization": "Bearer \($0)"] } ?? [:])
        let list = events.json as? [[String: Any]] ?? []
        let rules = list.filter { $0["type"] as? String == "com.orderhub.rules.evaluated.v1" }
        #expect(rules.count == 1, "order \(id) has \(rules.count) rules.evaluated events")
        return (rules.first?["data"] as? [String: Any])?["tags"] as? [String] ?? []
    }

    /// Submits one order, returning its id.
    func order(_ key: String, token: String? = nil) async throws -> String {
        var headers = ["Idempotency-Key": key, "Content-Type": "application/json"]
        if let token { headers["Authorization"] = "Bearer \(token)" }
        let result = try await HTTP.send("POST", baseURL + "/v1/orders", headers: headers, body: Data(SampleOrders.order(ref: key).utf8))
        #expect(result.status == 201, "\(result.status) \(result.text)")
        return result.object["id"] as? String ?? ""
    }
}
