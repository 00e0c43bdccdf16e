import ArgumentParser
import HubCore
import HubHTTP
import HubLoader
import Hummingbird
import Logging
import ServiceLifecycle
import UnixSignals

/// `orderhub run`: load the manifest's plugins and serve the HTTP API until SIGTERM/SIGINT.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the hub as a manifest composes it.")

    @Option(name: .long, help: "Manifest to run (YAML).")
    var manifest: String = "manifests/default.yaml"

    @Option(name: .long, help: "Address to serve on, HOST:PORT (overrides the manifest's listen).")
    var listen: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    @Option(name: .long, help: "This node's name among hub nodes sharing one PostgreSQL bus (default: host name and process id).")
    var node: String?

    @Option(name: .long, help: "Dispatch lease of a node sharing a bus, in ms: a dead node's connectors are taken over after about this long.")
    var leaseMs: Int = 15_000

    func run() async throws {
        let logger = Logging.bootstrap(level: logLevel)
        let composed: Manifest
        do {
            composed = try ManifestParser.load(path: manifest)
        } catch {
            Output.err(error.description)
            throw ExitCode(ExitCodes.manifestInvalid)
        }
        let (host, port) = try parseListen(listen ?? composed.listen ?? "127.0.0.1:8080")
        // Without tokens, every call is allowed: only where no one else can reach it.
        let tokens = composed.admin.tokensFile != nil || AccessControl.environmentTokens != nil
        if !tokens && !composed.admin.open && !Self.isLoopback(host) {
            Output.err("\(composed.path): serving on \(host) needs tokens: set admin.tokens_file (make tokens with `orderhub token new NAME ROLE`), or admin.open: true to serve without them (docs/operations.md)")
            throw ExitCode(ExitCodes.manifestInvalid)
        }
        if !tokens {
            logger.warning("the API is open (no admin.tokens_file): every caller may compose, swap and read; fine on loopback, not beyond")
        }
        guard (500...600_000).contains(leaseMs) else { throw ValidationError("--lease-ms \(leaseMs): expected 500 to 600000") }
        var options = Hub.Options()
        options.node = node
        options.leaseMillis = leaseMs
        let hub = try await StartupRetry.start(manifest: composed, options: options, host: host, port: port, logger: logger)
        for instance in hub.plugins.instances {
            logger.info("loaded \(instance.slot): \(instance.descriptor.id) \(instance.descriptor.version) (\(instance.descriptor.kind.name), ABI \(instance.descriptor.abiMajor).\(instance.descriptor.abiMinor))")
        }
        let app = Application(
            router: HubRoutes.router(hub: hub),
            configuration: .init(address: .hostname(host, port: port), serverName: "orderhub"),
            onServerRunning: { channel in
                Output.out("orderhub: serving http://\(host):\(channel.localAddress?.port ?? port) (manifest \(composed.path))")
            },
            logger: logger)
        // SIGTERM/SIGINT: the server stops taking requests and finishes those in flight,
        // then the hub drains connectors, commits what is queued, flushes and destroys plugins.
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            logger.error("server stopped: \(error)")
        }
        hub.shutdown()
        Output.out("orderhub: stopped cleanly")
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host.hasPrefix("127.") || host == "::1" || host == "[::1]"
    }

    private func parseListen(_ text: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw ValidationError("--listen '\(text)': expected HOST:PORT, e.g. 127.0.0.1:8080")
        }
        return (String(text[..<colon]), port)
    }
}

enum Logging {
    /// Only the executable picks the log backend, once.
    static func bootstrap(level: String) -> Logger {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: level) ?? .info
            return handler
        }
        return Logger(label: "orderhub")
    }
}
