import ArgumentParser
import HubDevTools
import Logging

/// `orderhub dev wms` and `orderhub dev vendors`: stand-in external systems for demos and manual testing.
struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev", abstract: "Development helpers.", subcommands: [WMS.self, Vendors.self])

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

    struct Vendors: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve fake WMS, TMS and carrier APIs on loopback, with faults and status callbacks.",
            discussion: """
                WMS (ShipBob-like): POST /wms/1.0/order, POST /wms/1.0/order/{id}/cancel, \
                GET /wms/1.0/order?reference_id=X; requests signed with X-Timestamp and \
                X-Signature: sha256=<hex HMAC-SHA256("wms-secret", timestamp + "." + body)>.
                TMS (ShipEngine-like): POST /tms/oauth/token (client_credentials, client "hub", \
                secret "tms-secret"), then with the bearer token POST /tms/v1/labels and \
                GET /tms/v1/labels?external_shipment_id=X.
                Carrier (EasyPost-like): POST /carrier/v2/trackers and GET /carrier/v2/trackers?reference=X \
                with X-Api-Key: carrier-key.
                Admin: POST /_faults {"rate":0.2,"kinds":["503","429","delay:200","timeout:3000","reset",\
                "reset_after_effect","timeout_after_effect:3000"],"callbacks":{"lost":0.05,"duplicate":0.05,\
                "reorder":0.05},"seed":1}; GET /_ledger.
                With --callback-base, every status change is POSTed as a CloudEvent to \
                <base>/v1/connectors/{wms,tms,carrier}/events (binary mode for wms and carrier, structured \
                for tms), signed with HMAC-SHA256 using the secrets wms-secret, tms-secret and carrier-secret.
                """)

        @Option(name: .long, help: "Port on 127.0.0.1.")
        var port: Int = 9090

        @Option(name: .long, help: "Hub base URL for status callbacks, e.g. http://127.0.0.1:8080.")
        var callbackBase: String?

        @Option(name: .long, help: "Share of API requests that get a fault (0...1), all kinds; timeouts hold 4000 ms.")
        var faultRate: Double = 0

        @Option(name: .long, help: "Milliseconds between two status steps of a record.")
        var stepMs: Int = 500

        func run() async throws {
            let vendors = FakeVendor(configuration: .init(stepMillis: stepMs))
            try await vendors.start(port: port)
            if let callbackBase { Self.sendCallbacks(of: vendors, to: callbackBase) }
            if faultRate > 0 {
                vendors.setRandomFaults(rate: faultRate, kinds: FakeVendor.Fault.all(timeoutMillis: 4000), seed: 1)
            }
            Output.out("fake vendors: \(vendors.baseURL)")
            while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
        }

        private static func sendCallbacks(of vendors: FakeVendor, to base: String) {
            let root = base.hasSuffix("/") ? String(base.dropLast()) : base
            let secrets: [FakeVendor.Vendor: String] = [
                .wms: "wms-secret", .tms: "tms-secret", .carrier: "carrier-secret",
            ]
            for vendor in FakeVendor.Vendor.allCases {
                vendors.setCallback(
                    vendor, url: "\(root)/v1/connectors/\(vendor.rawValue)/events", secret: secrets[vendor] ?? "",
                    mode: vendor == .tms ? .structured : .binary)
            }
        }
    }
}
