import ArgumentParser
import HubDevTools
import Logging

/// `orderhub dev wms`: a stand-in warehouse for demos and manual testing.
struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dev", abstract: "Development helpers.", subcommands: [WMS.self])

    struct WMS: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve a fake WMS on loopback (POST /orders; POST /_faults [\"503\",\"429\",\"delay:3000\"]; GET /_received).")

        @Option(name: .long, help: "Port on 127.0.0.1.")
        var port: Int = 9090

        func run() async throws {
            let wms = FakeWMS()
            try await wms.start(port: port)
            Output.out("fake WMS: \(wms.url)")
            while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
        }
    }
}
