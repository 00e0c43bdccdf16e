import ArgumentParser
import HubLoader
import Logging

/// `orderhub plugin-host`: the worker process of a plugin with `isolation: process`. The hub
/// starts it with the socket as its stdin; not meant to be run by hand.
struct PluginHostCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugin-host", abstract: "Serve one plugin instance to the hub over stdin (isolation: process).", shouldDisplay: false)

    @Option(help: "The slot served (for log lines).") var slot: String = "plugin"
    @Option(help: "Log level (the hub passes its own).") var logLevel: String = "info"
    @Flag(help: "The hub's KV is shared with other hub nodes (the hub passes it).") var kvShared = false

    func run() throws {
        var logger = Logging.bootstrap(level: logLevel)
        logger[metadataKey: "worker"] = "\(slot)"
        let status = PluginWorker.serve(logger: logger, kvShared: kvShared)
        if status != 0 { throw ExitCode(status) }
    }
}
