import HubCore
import HubJSON
import HubLoader
import Testing

@Suite struct ManifestParserTests {
    static let pin = String(repeating: "a", count: 64)

    static let good = """
        version: 1
        plugins:
          bus:
            kind: state_bus
            library: libs/libBus.so
            sha256: \(pin)
            config: {path: data/hub.db}
          wms:
            kind: connector
            library: /abs/libWMS.so
            sha256: \(pin)
            retry: {max_attempts: 3}
            config:
              url: http://127.0.0.1:9/orders
              timeout_ms: 100
        pipeline: []
        """

    @Test func readsPluginsAndResolvesPaths() throws {
        let manifest = try ManifestParser.parse(Self.good, path: "m.yaml", directory: "/etc/hub")
        #expect(manifest.bus?.library == "/etc/hub/libs/libBus.so")
        #expect(manifest.plugin("wms")?.library == "/abs/libWMS.so")
        #expect(manifest.plugin("wms")?.retry.maxAttempts == 3)
        #expect(manifest.plugin("wms")?.subscribes == ["com.orderhub.dispatch.requested.v1"])
        #expect(manifest.plugin("wms")?.config.lookup(path: "timeout_ms") == .number("100"))
        #expect(manifest.plugin("wms")?.sha256Position?.line == 11)
    }

    func problems(_ text: String) -> [String] {
        do {
            _ = try ManifestParser.parse(text, path: "m.yaml", directory: "/x")
            return []
        } catch {
            return error.problems.map(\.description)
        }
    }

    @Test func unknownKeysAndWrongTypesHavePositions() {
        let text = """
            version: 1
            plugins:
              bus:
                kind: state_bus
                library: a.so
                sha256: \(Self.pin)
                colour: blue
              rules:
                kind: rulez
                library: [not, a, string]
                sha256: nope
            pipeline: [rules, ghost]
            extra: 1
            """
        let found = problems(text)
        #expect(found.contains("m.yaml:7:5: plugins.bus: unknown key 'colour' (allowed: kind, library, sha256, config, subscribes, retry, description, concurrency, circuit, reconcile, version, canary, fields, isolation, call_timeout_ms)"))
        #expect(found.contains { $0.hasPrefix("m.yaml:9:11: plugins.rules.kind: 'rulez' is not one of") })
        #expect(found.contains { $0.hasPrefix("m.yaml:10:14: plugins.rules.library: expected a string") })
        #expect(found.contains { $0.hasPrefix("m.yaml:11:13: plugins.rules.sha256: expected 64 hex digits") })
        #expect(found.contains { $0.hasPrefix("m.yaml:12:19: pipeline: 'ghost' is not a slot") })
        #expect(found.contains { $0.hasPrefix("m.yaml:13:1: manifest: unknown key 'extra'") })
    }

    @Test func compositionRules() {
        let twoBuses = """
            version: 1
            plugins:
              a: {kind: state_bus, library: a.so, sha256: \(Self.pin)}
              b: {kind: state_bus, library: b.so, sha256: \(Self.pin)}
              w: {kind: connector, library: w.so, sha256: \(Self.pin), retry: {max_attempts: 0}}
            pipeline: [w]
            """
        let found = problems(twoBuses)
        #expect(found.contains { $0.contains("plugins.b: a hub has exactly one state_bus") })
        #expect(found.contains { $0.contains("plugins.w.retry.max_attempts: 0 is out of range 1...100") })
        #expect(found.contains { $0.contains("pipeline: 'w' is a connector") })
        #expect(problems("version: 1\nplugins: {}\n").contains { $0.contains("no plugin of kind state_bus") })
    }

    @Test func missingPinTellsHowToFixIt() {
        let found = problems("version: 1\nplugins:\n  bus:\n    kind: state_bus\n    library: a.so\n")
        #expect(found == ["m.yaml:4:5: plugins.bus.sha256: required, the library's checksum; run `orderhub manifest pin m.yaml` to write it"])
    }

    @Test func yamlSyntaxErrorsHavePositions() {
        let found = problems("version: 1\nplugins:\n  bus: [unclosed\n")
        #expect(found.count == 1)
        #expect(found[0].hasPrefix("m.yaml:4:1: YAML syntax:") || found[0].hasPrefix("m.yaml:3:"))
        #expect(problems("version: 2\nplugins: {}\n").contains { $0.hasPrefix("m.yaml:1:10: version: 2 is not supported") })
    }
}
