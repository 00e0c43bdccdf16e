import Foundation
import HubCore
import HubJSON
import HubLoader
import Logging
import Testing

/// Every way a bad library can reach the loader: each is refused with a message that
/// names the plugin, the field and the values, and the host keeps running.
@Suite struct LoaderTests {
    let directory = Products.tempDirectory("loader")
    var fixture: String { Products.repository + "/Tests/Fixtures/fixture_plugin.c" }

    func build(_ name: String, _ defines: [String] = []) throws -> String {
        let output = directory + "/\(name).so"
        try Products.compileC(fixture, to: output, defines: defines)
        return output
    }

    func refusal(_ path: String, sha: String? = nil) -> LoadError? {
        do {
            _ = try PluginLibrary(path: path, expectedSHA256: sha)
            return nil
        } catch { return error }
    }

    @Test func validFixtureLoadsAndDelivers() throws {
        let library = try PluginLibrary(path: try build("good"), expectedSHA256: nil)
        #expect(library.descriptor.id == "test.fixture")
        let context = HostContext(slot: "c", config: .object([]), logger: Logger(label: "t"), metrics: MetricsRegistry(), backend: nil)
        let instance = try PluginInstance(library: library, context: context, configJSON: Array("{}".utf8))
        let ack = try instance.deliver(BusEvent(id: "e1", source: "/t", type: "t", subject: "o", data: [], producer: "t", timeUnixNanos: 1, sequence: 1))
        #expect(String(decoding: ack, as: UTF8.self) == #"{"ok":true}"#)
        instance.destroy()
    }

    /// A plugin built against 1.0 (smaller descriptor, minor 0) loads and works in a 1.1 host;
    /// the host never reads the 1.1 field past its struct_size.
    @Test func pluginBuiltForTheOlderMinorLoads() throws {
        let library = try PluginLibrary(path: try build("abi10", ["FIXTURE_ABI_1_0", "FIXTURE_MINOR=0"]), expectedSHA256: nil)
        #expect(library.descriptor.abiMinor == 0)
        #expect(library.descriptor.structSize == 128)
        let context = HostContext(slot: "c", config: .object([]), logger: Logger(label: "t"), metrics: MetricsRegistry(), backend: nil)
        let instance = try PluginInstance(library: library, context: context, configJSON: Array("{}".utf8))
        #expect(!instance.supportsControl)
        #expect(throws: PluginCallError.self) { try instance.control("rulesets.list", Array("{}".utf8)) }
        let ack = try instance.deliver(BusEvent(id: "e1", source: "/t", type: "t", subject: "o", data: [], producer: "t", timeUnixNanos: 1, sequence: 1))
        #expect(String(decoding: ack, as: UTF8.self) == #"{"ok":true}"#)
        instance.destroy()
    }

    @Test func missingFile() {
        let error = refusal(directory + "/nope.so")
        #expect(error?.code == .fileMissing)
        #expect(error?.description.contains("nope.so: cannot open plugin library: No such file or directory") == true)
    }

    @Test func notAnELF() throws {
        let path = directory + "/text.so"
        try "hello, I am not a library".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(refusal(path)?.code == .notALibrary)
        #expect(refusal(path)?.message.contains("not an ELF shared library") == true)
    }

    @Test func truncatedELF() throws {
        let good = try Data(contentsOf: URL(fileURLWithPath: try build("whole")))
        let path = directory + "/truncated.so"
        try good.prefix(200).write(to: URL(fileURLWithPath: path))
        let error = refusal(path)
        #expect(error?.code == .notALibrary)
        #expect(error?.message.hasPrefix("dlopen failed:") == true)
    }

    @Test func checksumMismatchIsCheckedBeforeDlopen() throws {
        let path = try build("pinned")
        let wrong = String(repeating: "0", count: 64)
        let error = refusal(path, sha: wrong)
        #expect(error?.code == .checksumMismatch)
        #expect(error?.message.contains("but the manifest pins \(wrong)") == true)
        #expect(error?.message.contains("orderhub manifest pin") == true)
    }

    @Test func missingEntrySymbol() throws {
        let error = refusal(try build("noentry", ["FIXTURE_NO_ENTRY"]))
        #expect(error?.code == .entryMissing)
        #expect(error?.message.contains("no exported symbol 'hub_plugin_entry_v1'") == true)
    }

    @Test func entryRefusingTheHost() throws {
        let error = refusal(try build("refuses", ["FIXTURE_ENTRY_REFUSES"]))
        #expect(error?.code == .entryFailed)
        #expect(error?.message.contains("refused host ABI 1.4 with status UNSUPPORTED") == true)
    }

    @Test func wrongMajor() throws {
        let error = refusal(try build("major2", ["FIXTURE_MAJOR=2"]))
        #expect(error?.code == .abiMismatch)
        #expect(error?.message == "descriptor.abi_major: plugin built for ABI 2.4, host speaks 1.4 (majors must be equal)")
    }

    @Test func newerMinor() throws {
        let error = refusal(try build("minor99", ["FIXTURE_MINOR=99"]))
        #expect(error?.code == .abiMismatch)
        #expect(error?.message.hasPrefix("descriptor.abi_minor: plugin built for ABI 1.99, host speaks 1.4") == true)
    }

    @Test func descriptorTooSmall() throws {
        let error = refusal(try build("small", ["FIXTURE_SMALL_DESC"]))
        #expect(error?.code == .descriptorInvalid)
        #expect(error?.message.hasPrefix("descriptor.struct_size is 16 bytes, ABI 1.0 needs at least") == true)
    }

    @Test func nullRequiredFunction() throws {
        let error = refusal(try build("nullcreate", ["FIXTURE_NULL_CREATE"]))
        #expect(error?.code == .descriptorInvalid)
        #expect(error?.message == "descriptor.create of 'test.fixture' is NULL but required")
    }

    @Test func badSemver() throws {
        let error = refusal(try build("badversion", [#"FIXTURE_VERSION="one""#]))
        #expect(error?.message.contains("descriptor.version 'one' of 'test.fixture' is not a semantic version") == true)
    }

    @Test func createFailureShowsThePluginsOwnMessage() throws {
        let library = try PluginLibrary(path: try build("createfails", ["FIXTURE_CREATE_FAILS"]), expectedSHA256: nil)
        let context = HostContext(slot: "wms", config: .object([]), logger: Logger(label: "t"), metrics: MetricsRegistry(), backend: nil)
        do {
            _ = try PluginInstance(library: library, context: context, configJSON: Array("{}".utf8))
            Issue.record("create should have failed")
        } catch {
            #expect(error.code == .createFailed)
            #expect(error.message == "create of 'test.fixture' for slot 'wms' failed (INVALID): config.url: required, the WMS endpoint")
        }
    }

    @Test func kindTableMissing() throws {
        let library = try PluginLibrary(path: try build("nokind", ["FIXTURE_NO_KIND_TABLE"]), expectedSHA256: nil)
        let context = HostContext(slot: "x", config: .object([]), logger: Logger(label: "t"), metrics: MetricsRegistry(), backend: nil)
        #expect(throws: LoadError.self) { try PluginInstance(library: library, context: context, configJSON: []) }
    }

    @Test func realPluginsDescribeThemselves() throws {
        let expected: [(String, String, PluginDescriptor.Kind)] = [
            ("StateBusSQLite", "orderhub.bus.sqlite", .stateBus), ("RulesBasic", "orderhub.rules.basic", .rules),
            ("PredictorLogistic", "orderhub.predictor.logistic", .predictor), ("HTTPConnector", "orderhub.connector.http", .connector),
            ("HelloSwiftPlugin", "example.rules.hello", .rules),
        ]
        for (product, id, kind) in expected {
            let library = try PluginLibrary(path: try Products.library(product), expectedSHA256: nil)
            #expect(library.descriptor.id == id)
            #expect(library.descriptor.kind == kind)
            #expect(library.descriptor.abiMajor == 1)
        }
    }

    @Test func swiftPluginRefusesBadConfigWithItsReason() throws {
        let library = try PluginLibrary(path: try Products.library("RulesBasic"), expectedSHA256: nil)
        let context = HostContext(slot: "rules", config: .object([]), logger: Logger(label: "t"), metrics: MetricsRegistry(), backend: nil)
        do {
            _ = try PluginInstance(library: library, context: context, configJSON: Array(#"{"files":["/no/such/rules.json"]}"#.utf8))
            Issue.record("create should have failed")
        } catch {
            #expect(error.message.contains("cannot read '/no/such/rules.json': No such file or directory"))
        }
    }

    @Test func hotSwapHooksHandStateToASuccessor() throws {
        let library = try PluginLibrary(path: try Products.library("RulesBasic"), expectedSHA256: nil)
        #expect(library.descriptor.capabilityNames.contains("state_export"))
        let rules = directory + "/swap-rules.json"
        try #"{"version":"v7","rules":[]}"#.write(toFile: rules, atomically: true, encoding: .utf8)
        func make() throws -> PluginInstance {
            let context = HostContext(slot: "rules", config: .object([]), logger: Logger(label: "t"), metrics: MetricsRegistry(), backend: nil)
            return try PluginInstance(library: library, context: context, configJSON: Array(#"{"files":["\#(rules)"]}"#.utf8))
        }
        let old = try make()
        let successor = try make()
        let state = try #require(try old.exportState())
        #expect(state.schema == 1)
        #expect(String(decoding: state.bytes, as: UTF8.self).contains("v7"))
        try successor.importState(state.bytes, schema: state.schema)
        #expect(throws: PluginCallError.self) { try successor.importState(state.bytes, schema: 99) }
        old.destroy()
        successor.destroy()
    }

    @Test func minimalCPluginFromTheGuideBuildsAndRuns() throws {
        let source = Products.repository + "/docs/examples/minimal_c_plugin.c"
        try #require(FileManager.default.fileExists(atPath: source), "docs/examples/minimal_c_plugin.c is missing")
        let path = directory + "/minimal.so"
        try Products.compileC(source, to: path)
        let library = try PluginLibrary(path: path, expectedSHA256: nil)
        #expect(library.descriptor.kind == .rules)
        let context = HostContext(slot: "tag", config: .object([("label", .string("vip"))]), logger: Logger(label: "t"),
                                  metrics: MetricsRegistry(), backend: nil)
        let instance = try PluginInstance(library: library, context: context, configJSON: Array(#"{"label":"vip"}"#.utf8))
        var order = OrderFields()
        order.id = "ord_1"
        let result = try JSONParser.parse(try instance.evaluate(order))
        #expect(result["tags"]?.arrayValue?.first?.stringValue == "vip")
        instance.destroy()
    }
}
