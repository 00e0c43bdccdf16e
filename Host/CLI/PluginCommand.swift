import ArgumentParser
import Foundation
import HubCore
import HubJSON
import HubLoader

/// `orderhub plugin inspect`: what a library says about itself, checked as the loader would.
struct PluginCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "plugin", abstract: "Work with plugin libraries.", subcommands: [Inspect.self, Check.self])

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a plugin's descriptor (id, version, kind, ABI, threading, capabilities).")

        @Argument(help: "Path to the plugin's .so")
        var path: String

        @Flag(name: .long, help: "Print JSON instead of text.")
        var json = false

        func run() throws {
            let library: PluginLibrary
            do {
                library = try PluginLibrary(path: path, expectedSHA256: nil)
            } catch {
                Output.err("orderhub: \(error)")
                throw ExitCode(ExitCodes.pluginRefused)
            }
            let d = library.descriptor
            if json {
                var writer = JSONWriter()
                writer.object { o in
                    o.field("path", library.path)
                    o.field("id", d.id)
                    o.field("version", d.version)
                    o.field("kind", d.kind.name)
                    o.field("kind_api_version", Int(d.kindAPIVersion))
                    o.field("abi", "\(d.abiMajor).\(d.abiMinor)")
                    o.field("threading", d.threading.name)
                    o.array("capabilities") { a in for c in d.capabilityNames { a.element(c) } }
                    o.field("descriptor_size", Int(d.structSize))
                    o.field("sha256", library.sha256)
                }
                Output.out(writer.string)
            } else {
                Output.out("""
                    path:          \(library.path)
                    id:            \(d.id)
                    version:       \(d.version)
                    kind:          \(d.kind.name) (table v\(d.kindAPIVersion))
                    abi:           \(d.abiMajor).\(d.abiMinor) (host \(PluginLibrary.hostABI.major).\(PluginLibrary.hostABI.minor))
                    threading:     \(d.threading.name)
                    capabilities:  \(d.capabilityNames.isEmpty ? "none" : d.capabilityNames.joined(separator: ", "))
                    sha256:        \(library.sha256)
                    """)
            }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Conformance check: load, create with a config, exercise the kind's functions, check the ABI contract.",
            discussion: "Exits 0 when every check passes, 3 otherwise. Nothing is written except by a bus plugin to the file its config names.")

        @Argument(help: "Path to the plugin's .so")
        var path: String

        @Option(name: .long, help: "The plugin's config as JSON, or @FILE to read it from a file (relative paths in it then resolve against FILE's folder).")
        var config: String = "{}"

        @Flag(name: .long, help: "Connectors: send a sample dispatch to the configured endpoint.")
        var deliver = false

        func run() throws {
            let text = config.hasPrefix("@") ? try String(contentsOfFile: String(config.dropFirst()), encoding: .utf8) : config
            let parsed: JSONValue
            do {
                parsed = try JSONParser.parse(text)
            } catch {
                throw ValidationError("--config: not valid JSON at \(error)")
            }
            let directory = config.hasPrefix("@") ? String(config.dropFirst()).split(separator: "/", omittingEmptySubsequences: false).dropLast()
                .joined(separator: "/") : "."
            let results = PluginConformance.check(path: path, config: parsed, configDirectory: directory.isEmpty ? "." : directory, deliver: deliver)
            for result in results { Output.out("\(result.passed ? "ok  " : "FAIL") \(result.name): \(result.detail)") }
            let failed = results.filter { !$0.passed }.count
            Output.out(failed == 0 ? "\(path): conforms (\(results.count) checks)" : "\(path): \(failed) of \(results.count) checks failed")
            if failed > 0 { throw ExitCode(ExitCodes.pluginRefused) }
        }
    }
}
