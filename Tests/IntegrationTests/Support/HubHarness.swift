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
        hub = try Hub.start(manifest: try manifest.load(), logger: logger)
        (baseURL, group, serverTask) = await Self.serve(hub, logger: logger)
    }

    /// Serves a hub's API on a free loopback port: its base URL, and what stops it.
    static func serve(_ hub: Hub, logger: Logger) async -> (String, ServiceGroup, Task<Void, Never>) {
        let ready = AsyncStream<Int>.makeStream()
        let app = Application(
            router: HubRoutes.router(hub: hub), configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { ready.continuation.yield($0.localAddress?.port ?? 0) }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task<Void, Never> { try? await group.run() }
        var url = ""
        for await port in ready.stream {
            url = "http://127.0.0.1:\(port)"
            break
        }
        return (url, group, task)
    }

    func stop() async {
        await group?.triggerGracefulShutdown()
        await serverTask?.value
        hub.shutdown()
        await wms.stop()
    }
}
