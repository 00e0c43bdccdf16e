import Foundation
import Testing

/// The `orderhub` binary as an admin uses it.
@Suite struct CLITests {
    @Test func checkReportsEveryProblemWithItsPosition() throws {
        let directory = Products.tempDirectory("check")
        let manifest = directory + "/broken.yaml"
        let good = try Products.library("RulesBasic")
        try """
            version: 1
            plugins:
              bus:
                kind: state_bus
                library: \(try Products.library("StateBusSQLite"))
                sha256: \(String(repeating: "0", count: 64))
                config: {path: hub.db}
              rules:
                kind: rules
                library: \(good)
                sha256: \(String(repeating: "1", count: 64))
                config: {files: [missing.json]}
              ghost:
                kind: connector
                library: ghost.so
                sha256: \(String(repeating: "2", count: 64))
            pipeline: [rules]
            """.write(toFile: manifest, atomically: true, encoding: .utf8)
        let result = try ChildProcess.run(["check", manifest])
        #expect(result.status == 2)
        let lines = result.stderr.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("\(manifest):6:13: plugins.bus: sha256 is ") && $0.contains("but the manifest pins 0000") })
        #expect(lines.contains { $0.hasPrefix("\(manifest):15:14: plugins.ghost: cannot open plugin library: No such file or directory") })
        #expect(lines.last == "\(manifest): 3 problem(s)")

        // After pinning, what remains is the config the rules plugin refuses, at the plugin's position.
        let pin = try ChildProcess.run(["manifest", "pin", manifest])
        #expect(pin.status == 2, "a missing library cannot be pinned: \(pin.stderr)")
        try String(contentsOfFile: manifest, encoding: .utf8).replacingOccurrences(of: "library: ghost.so", with: "library: \(try Products.library("HTTPConnector"))")
            .replacingOccurrences(of: "sha256: \(String(repeating: "2", count: 64))", with: "sha256: \(String(repeating: "2", count: 64))\n    config: {url: \"http://127.0.0.1:9/orders\"}")
            .write(toFile: manifest, atomically: true, encoding: .utf8)
        #expect(try ChildProcess.run(["manifest", "pin", manifest]).status == 0)
        let again = try ChildProcess.run(["check", manifest])
        #expect(again.status == 2)
        #expect(again.stderr.contains("\(manifest):9:5: plugins.rules.config: create of 'orderhub.rules.basic' for slot 'rules' failed (INVALID): cannot read '\(directory)/missing.json'"))
        try "{\"version\":\"1\",\"rules\":[]}".write(toFile: directory + "/missing.json", atomically: true, encoding: .utf8)
        let fixed = try ChildProcess.run(["check", manifest])
        #expect(fixed.status == 0, "\(fixed.stderr)")
        #expect(fixed.stdout.contains("ok"))
    }

    @Test func checkCatchesYAMLAndSchemaErrors() throws {
        let manifest = Products.tempDirectory("yaml") + "/bad.yaml"
        try "version: 1\nplugins:\n  bus:\n    kind: state_bus\n    libary: x.so\n".write(toFile: manifest, atomically: true, encoding: .utf8)
        let result = try ChildProcess.run(["check", manifest])
        #expect(result.status == 2)
        #expect(result.stderr.contains("\(manifest):5:5: plugins.bus: unknown key 'libary'"))
        #expect(result.stderr.contains("\(manifest):4:5: plugins.bus.library: required"))
    }

    @Test func inspectPrintsTheDescriptor() throws {
        let result = try ChildProcess.run(["plugin", "inspect", "--json", try Products.library("PredictorLogistic")])
        #expect(result.status == 0)
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(json?["id"] as? String == "orderhub.predictor.logistic")
        #expect(json?["kind"] as? String == "predictor")
        #expect(json?["abi"] as? String == "1.4")
        #expect(json?["threading"] as? String == "thread_safe")
        let bad = try ChildProcess.run(["plugin", "inspect", "/etc/hostname"])
        #expect(bad.status == 3)
        #expect(bad.stderr.contains("not an ELF shared library"))
    }

    @Test func runRefusesAMismatchedPinAndNamesIt() throws {
        let directory = Products.tempDirectory("pinrun")
        let manifest = try TestManifest(directory: directory, wmsURL: "http://127.0.0.1:9/orders")
        let text = try String(contentsOfFile: manifest.path, encoding: .utf8)
        let tampered = text.replacingOccurrences(of: #"sha256: [0-9a-f]{64}"#, with: "sha256: \(String(repeating: "f", count: 64))", options: .regularExpression)
        try tampered.write(toFile: manifest.path, atomically: true, encoding: .utf8)
        let result = try ChildProcess.run(["run", "--manifest", manifest.path, "--listen", "127.0.0.1:0"])
        #expect(result.status == 3)
        #expect(result.stderr.contains("but the manifest pins ffff"))
        #expect(result.stderr.contains("orderhub manifest pin"))
    }

    @Test func pluginCheckRunsTheConformanceSuite() throws {
        let directory = Products.tempDirectory("conformance")
        let rules = try ChildProcess.run(["plugin", "check", try Products.library("RulesBasic"), "--config",
                                          #"{"files":["\#(Products.repository)/manifests/rules/default.rules.json"]}"#])
        #expect(rules.status == 0, "\(rules.stdout)")
        #expect(rules.stdout.contains("ok   evaluate from 4 threads"))
        let bus = try ChildProcess.run(["plugin", "check", try Products.library("StateBusSQLite"), "--config", #"{"path":"\#(directory)/bus.db"}"#])
        #expect(bus.status == 0, "\(bus.stdout)")
        #expect(bus.stdout.contains("ok   sequence gap refused"))

        let minimal = directory + "/minimal.so"
        try Products.compileC(Products.repository + "/docs/examples/minimal_c_plugin.c", to: minimal)
        #expect(try ChildProcess.run(["plugin", "check", minimal]).status == 0)

        let broken = directory + "/broken.so"
        try Products.compileC(Products.repository + "/Tests/Fixtures/services_probe.c", to: broken, defines: ["PROBE_BAD_JSON"])
        let bad = try ChildProcess.run(["plugin", "check", broken])
        #expect(bad.status == 3)
        #expect(bad.stdout.contains("FAIL evaluate"))

        let unconfigured = try ChildProcess.run(["plugin", "check", try Products.library("RulesBasic")])
        #expect(unconfigured.status == 3)
        #expect(unconfigured.stdout.contains("FAIL create: create of 'orderhub.rules.basic' for slot 'check' failed (INVALID): config.files: required"))
    }

    @Test func pinKeepsCommentsAndLayout() throws {
        let directory = Products.tempDirectory("pin")
        let manifest = directory + "/hub.yaml"
        let text = """
            # my hub
            version: 1
            plugins:
              bus:
                kind: state_bus   # the log
                library: \(try Products.library("StateBusSQLite"))
                sha256: \(String(repeating: "a", count: 64))  # pinned by ops
                config: {path: hub.db}
              rules:
                kind: rules
                library: \(try Products.library("HelloSwiftPlugin"))
            pipeline: [rules]
            """
        try text.write(toFile: manifest, atomically: true, encoding: .utf8)
        let result = try ChildProcess.run(["manifest", "pin", manifest])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("2 pin(s) written"))
        let pinned = try String(contentsOfFile: manifest, encoding: .utf8)
        let lines = pinned.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0] == "# my hub")
        #expect(lines[4] == "    kind: state_bus   # the log")
        #expect(lines[6].hasSuffix("  # pinned by ops") && !lines[6].contains(String(repeating: "a", count: 64)))
        #expect(lines.filter { $0.contains("sha256:") }.count == 2, "a missing pin is inserted")
        #expect(try ChildProcess.run(["check", manifest]).status == 0)
    }

    @Test func predictScoresACSVWithTheShippedModel() throws {
        let directory = Products.tempDirectory("predict")
        let rows = Products.repository + "/Tests/Fixtures/orders-sample.csv"
        let model = Products.repository + "/manifests/models/late_delivery_lgbm"
        let result = try ChildProcess.run(["predict", "--model", model, "--csv", rows])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.first == "order_id,score")
        #expect(lines.count == 21)
        #expect(lines.dropFirst().allSatisfy { line in
            let parts = line.split(separator: ",")
            return parts.count == 2 && parts[0].count == 32 && (Double(parts[1]).map { (0...1).contains($0) } ?? false)
        })
        let features = try ChildProcess.run(["features", "--spec", model + "/features.json", "--csv", rows])
        #expect(features.status == 0)
        #expect(features.stdout.split(separator: "\n").count == 21)
        let missing = try ChildProcess.run(["predict", "--model", directory, "--csv", rows])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("features.json"))
    }
}
