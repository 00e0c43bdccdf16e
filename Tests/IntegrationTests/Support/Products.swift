import Foundation
import HubCore
import HubLoader
import Testing

/// Finds what `swift build` produced (the .so plugins and the orderhub binary) next to the
/// test bundle, and the repository's own files. Plugins are never linked into tests: they
/// are opened with dlopen like the hub does.
enum Products {
    static let buildDirectory: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        return (exe as NSString).deletingLastPathComponent
    }()

    static let repository: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// Path of a built product; fails the test with the build command when missing.
    static func library(_ product: String) throws -> String {
        let path = buildDirectory + "/lib\(product).so"
        guard FileManager.default.fileExists(atPath: path) else {
            Issue.record("missing \(path): build it with `swift build --product \(product)` (plain `swift test` builds every product)")
            throw CocoaError(.fileNoSuchFile)
        }
        return path
    }

    static var orderhub: String { buildDirectory + "/orderhub" }

    static func tempDirectory(_ name: String = #function) -> String {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        let path = NSTemporaryDirectory() + "orderhub-tests/\(safe)-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Compiles a C source into a shared library with `cc`, as a plugin author would.
    static func compileC(_ source: String, to output: String, defines: [String] = []) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["cc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-fvisibility=hidden",
                             "-I", repository + "/PluginAPI/CHubABI/include"] + defines.map { "-D" + $0 } + [source, "-o", output]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            Issue.record("cc failed for \(source) \(defines)")
            throw CocoaError(.executableLoad)
        }
    }
}

/// A manifest in a temp folder pointing at the freshly built plugins, pinned like an admin would.
struct TestManifest {
    let directory: String
    let path: String

    /// `bus`: the state bus's config line (default: an SQLite file in the folder); see `PostgresServer.busEntry`.
    init(directory: String, wmsURL: String, rules: String? = nil, maxAttempts: Int = 3, extra: String = "",
         pipeline: String = "[rules, predictor]", bus: String? = nil) throws {
        self.directory = directory
        path = directory + "/hub.yaml"
        let rulesPath = directory + "/rules.json"
        try (rules ?? TestManifest.defaultRules).write(toFile: rulesPath, atomically: true, encoding: .utf8)
        let text = """
            version: 1
            plugins:
              bus:
            \(try bus ?? "    kind: state_bus\n    library: \(Products.library("StateBusSQLite"))\n    config: {path: data/hub.db}")
              rules:
                kind: rules
                library: \(try Products.library("RulesBasic"))
                config: {files: [rules.json]}
              predictor:
                kind: predictor
                library: \(try Products.library("PredictorLogistic"))
                config: {model: \(Products.repository)/manifests/models/late_delivery/logistic.json}
              wms:
                kind: connector
                library: \(try Products.library("HTTPConnector"))
                retry: {max_attempts: \(maxAttempts), initial_backoff_ms: 20, max_backoff_ms: 100}
                config: {url: "\(wmsURL)", timeout_ms: 1000}
            \(extra)
            pipeline: \(pipeline)
            """
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        _ = try ManifestPinner.pin(path: path)
    }

    static let defaultRules = """
        {"version": "t1", "rules": [
          {"id": "spend-300-get-50", "type": "threshold_discount", "min_total": "300.00", "discount": "50.00"},
          {"id": "hold-above-5000", "type": "hold_above", "max_total": "5000.00", "reason": "big order"}
        ]}
        """

    func load() throws -> Manifest { try ManifestParser.load(path: path) }
}
