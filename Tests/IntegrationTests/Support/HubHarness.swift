import Foundation
import HubCore
import HubDevTools
import HubHTTP
import Hummingbird
import Logging
import ServiceLifecycle

/// A hub served over real HTTP on a free loopback port, with a fake WMS beside it.
final class HubHarness: @unchecked Sendable {  // fields set once in start(), then read only
    let wms = FakeWMS()
    var hub: Hub!
    var manifest: TestManifest!
    var baseURL = ""
    private var group: ServiceGroup?
    private var serverTask: Task<Void, Never>?

    static func start(rules: String? = nil, maxAttempts: Int = 3, extra: String = "", pipeline: String = "[rules, predictor]",
                      name: String = #function) async throws -> HubHarness {
        let harness = HubHarness()
        try await harness.wms.start()
        harness.manifest = try TestManifest(directory: Products.tempDirectory(name), wmsURL: harness.wms.url, rules: rules,
                                            maxAttempts: maxAttempts, extra: extra, pipeline: pipeline)
        var logger = Logger(label: "test-hub")
        logger.logLevel = .warning
        try await harness.serve(logger: logger)
        return harness
    }

    /// Stops the hub gracefully and starts it again on the same manifest and database.
    func restart() async throws {
        await group?.triggerGracefulShutdown()
        await serverTask?.value
        hub.shutdown()
        var logger = Logger(label: "test-hub")
        logger.logLevel = .warning
        try await serve(logger: logger)
    }

    private func serve(logger: Logger) async throws {
        let harness = self
        harness.hub = try Hub.start(manifest: try harness.manifest.load(), logger: logger)
        let ready = AsyncStream<Int>.makeStream()
        let app = Application(
            router: HubRoutes.router(hub: harness.hub), configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { ready.continuation.yield($0.localAddress?.port ?? 0) }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        harness.group = group
        harness.serverTask = Task { try? await group.run() }
        for await port in ready.stream {
            harness.baseURL = "http://127.0.0.1:\(port)"
            break
        }
    }

    func stop() async {
        await group?.triggerGracefulShutdown()
        await serverTask?.value
        hub.shutdown()
        await wms.stop()
    }
}
