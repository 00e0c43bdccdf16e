import Foundation
import HubJSON
import HubLoader
import Logging
import Testing

/// The SQLite state bus through its real .so and the ABI, on real files.
@Suite struct StateBusSQLiteTests {
    let directory = Products.tempDirectory("bus")

    func openBus(_ file: String = "bus.db") throws -> PluginInstance {
        let library = try PluginLibrary(path: try Products.library("StateBusSQLite"), expectedSHA256: nil)
        let context = HostContext(slot: "bus", config: .object([]), logger: Logger(label: "t"), metrics: MetricsRegistry(), backend: nil)
        return try PluginInstance(library: library, context: context, configJSON: Array(#"{"path":"\#(directory)/\#(file)"}"#.utf8))
    }

    func event(_ order: String, _ seq: UInt64, _ type: String, state: String = "", data: String = "{}") -> BusEvent {
        BusEvent(id: "\(order).\(seq)", source: "/test", type: type, subject: order, data: Array(data.utf8), producer: "test",
                 timeUnixNanos: 1_795_639_135_123_456_000 + Int64(seq), sequence: seq, state: state)
    }

    @Test func appendsAndRendersCloudEvents() throws {
        let bus = try openBus()
        _ = try bus.append([event("o1", 1, "t.received", state: "received", data: #"{"a":1}"#), event("o1", 2, "t.accepted", state: "accepted")])
        let state = try bus.orderState("o1")
        #expect(state?.state == "accepted")
        #expect(state?.sequence == 2)
        let timeline = try JSONParser.parse(try #require(try bus.timeline("o1"))).arrayValue ?? []
        #expect(timeline.count == 2)
        #expect(timeline[0]["specversion"]?.stringValue == "1.0")
        #expect(timeline[0]["subject"]?.stringValue == "o1")
        #expect(timeline[0]["time"]?.stringValue == "2026-11-25T20:38:55.123456Z")
        #expect(timeline[0]["sequence"]?.stringValue == "0000000000000001")
        #expect(timeline[0]["data"]?["a"]?.intValue == 1)
        #expect(timeline[1]["orderstate"]?.stringValue == "accepted")
        #expect(try bus.timeline("unknown") == nil)
        #expect(try bus.orderState("unknown") == nil)
        bus.destroy()
    }

    @Test func refusesASequenceGapAndWritesNothing() throws {
        let bus = try openBus()
        _ = try bus.append([event("o2", 1, "t", state: "received")])
        #expect(throws: PluginCallError.self) { try bus.append([event("o3", 1, "t", state: "received"), event("o2", 3, "t")]) }
        #expect(try bus.orderState("o3") == nil, "a refused batch must be rolled back whole")
        #expect(try bus.orderState("o2")?.sequence == 1)
        bus.destroy()
    }

    @Test func idempotencyKeysAreUnique() throws {
        let bus = try openBus()
        let record = IdempotencyRecord(key: "k1", subject: "o4", fingerprint: "f1", response: Array(#"{"id":"o4"}"#.utf8))
        _ = try bus.append([event("o4", 1, "t", state: "received")], records: [record])
        do {
            _ = try bus.append([event("o5", 1, "t", state: "received")], records: [record])
            Issue.record("duplicate key accepted")
        } catch {
            #expect(error.status == 9)
        }
        #expect(try bus.orderState("o5") == nil)
        let stored = try JSONParser.parse(try #require(try bus.idempotencyRecord("k1")))
        #expect(stored["subject"]?.stringValue == "o4")
        #expect(stored["response"]?.stringValue == #"{"id":"o4"}"#)
        bus.destroy()
    }

    @Test func kvCompareAndSet() throws {
        let bus = try openBus()
        let first = try bus.kvPut(namespace: "rules", key: "budget", value: Array("10".utf8), expectedRevision: 0)
        #expect(first == 1)
        #expect(throws: PluginCallError.self) { try bus.kvPut(namespace: "rules", key: "budget", value: [], expectedRevision: 0) }
        let second = try bus.kvPut(namespace: "rules", key: "budget", value: Array("9".utf8), expectedRevision: 1)
        #expect(second == 2)
        #expect(try bus.kvGet(namespace: "rules", key: "budget")?.value == Array("9".utf8))
        #expect(try bus.kvGet(namespace: "other", key: "budget") == nil, "namespaces are separate")
        bus.destroy()
    }

    @Test func replayAndStateQueriesSurviveReopen() throws {
        do {
            let bus = try openBus("replay.db")
            for n in 0..<5 { _ = try bus.append([event("r\(n)", 1, "t", state: n % 2 == 0 ? "dispatched" : "released")]) }
            bus.destroy()
        }
        let bus = try openBus("replay.db")
        let page = try bus.read(after: 0, max: 3)
        #expect((try JSONParser.parse(page.json).arrayValue ?? []).count == 3)
        let rest = try bus.read(after: page.next, max: 100)
        #expect((try JSONParser.parse(rest.json).arrayValue ?? []).count == 2)
        #expect(Set(try bus.orders(inState: "dispatched", max: 10)) == ["r0", "r2", "r4"])
        bus.destroy()
    }

    @Test func badConfigIsRefusedWithTheKey() throws {
        let library = try PluginLibrary(path: try Products.library("StateBusSQLite"), expectedSHA256: nil)
        let context = HostContext(slot: "bus", config: .object([]), logger: Logger(label: "t"), metrics: MetricsRegistry(), backend: nil)
        for (config, message) in [(#"{}"#, "config.path: required"), (#"{"path":"x.db","synchronous":"sometimes"}"#, "config.synchronous: 'sometimes'"),
                                  (#"{"path":"x.db","colour":1}"#, "config: unknown key 'colour'")] {
            do {
                _ = try PluginInstance(library: library, context: context, configJSON: Array(config.utf8))
                Issue.record("accepted \(config)")
            } catch {
                #expect(error.message.contains(message), "\(error.message)")
            }
        }
    }
}
