import Foundation
import HubJSON
import HubLoader
import Logging
import Testing

/// The PostgreSQL state bus through its real .so and the ABI, on the private test server:
/// the same contract as the SQLite bus, plus what sharing needs (two instances are two nodes).
@Suite struct StateBusPostgresTests {
    let schema = PostgresServer.schema()

    func openBus(schema: String? = nil, url: String? = nil) throws -> PluginInstance {
        let library = try PluginLibrary(path: try Products.library("StateBusPostgres"), expectedSHA256: nil)
        let context = HostContext(slot: "bus", config: .object([]), logger: Logger(label: "t"), metrics: MetricsRegistry(), backend: nil)
        let config = #"{"url":"\#(try url ?? PostgresServer.url())","schema":"\#(schema ?? self.schema)"}"#
        return try PluginInstance(library: library, context: context, configJSON: Array(config.utf8))
    }

    func event(_ order: String, _ seq: UInt64, _ type: String, state: String = "", data: String = "{}") -> BusEvent {
        BusEvent(id: "\(order).\(seq)", source: "/test", type: type, subject: order, data: Array(data.utf8), producer: "test",
                 timeUnixNanos: 1_795_639_135_123_456_000 + Int64(seq), sequence: seq, state: state)
    }

    @Test func keepsTheBusContract() throws {
        let bus = try openBus()
        defer { bus.destroy() }
        #expect(bus.sharedByNodes)
        let record = IdempotencyRecord(key: "k1", subject: "o1", fingerprint: "f1", response: Array(#"{"id":"o1"}"#.utf8))
        let first = try bus.append([event("o1", 1, "t.received", state: "received", data: #"{"a":1}"#), event("o1", 2, "t.accepted", state: "accepted")],
                                   records: [record])
        #expect(first == 1)
        #expect(try bus.orderState("o1")?.state == "accepted")
        #expect(try bus.orderState("o1")?.sequence == 2)
        let timeline = try JSONParser.parse(try #require(try bus.timeline("o1"))).arrayValue ?? []
        #expect(timeline.count == 2)
        #expect(timeline[0]["time"]?.stringValue == "2026-11-25T20:38:55.123456Z")
        #expect(timeline[0]["data"]?["a"]?.intValue == 1)
        #expect(timeline[1]["orderstate"]?.stringValue == "accepted")
        // A gap, a replayed first event and a used key are refused whole (HUB_CONFLICT).
        for bad in [[event("o2", 1, "t", state: "received"), event("o1", 4, "t")], [event("o1", 1, "t", state: "received")]] {
            do {
                _ = try bus.append(bad)
                Issue.record("accepted a batch that does not follow on")
            } catch { #expect(error.status == 9) }
        }
        do {
            _ = try bus.append([event("o3", 1, "t", state: "received")], records: [record])
            Issue.record("duplicate idempotency key accepted")
        } catch { #expect(error.status == 9 && error.message.contains("k1")) }
        #expect(try bus.orderState("o2") == nil && bus.orderState("o3") == nil, "a refused batch must be rolled back whole")
        let stored = try JSONParser.parse(try #require(try bus.idempotencyRecord("k1")))
        #expect(stored["subject"]?.stringValue == "o1")
        // A step that keeps the state moves the sequence only.
        _ = try bus.append([event("o1", 3, "t.note")])
        #expect(try bus.orderState("o1")?.state == "accepted" && bus.orderState("o1")?.sequence == 3)
        #expect(try bus.orders(inState: "accepted", max: 10) == ["o1"])
        let (page, next) = try bus.read(after: 0, max: 10)
        #expect(next == 2)
        #expect((try JSONParser.parse(page).arrayValue ?? []).map { $0["offset"]?.intValue } == [1, 2])
        // KV compare-and-set.
        let rev = try bus.kvPut(namespace: "ns", key: "a", value: [1], expectedRevision: 0)
        #expect(rev == 1)
        #expect(throws: PluginCallError.self) { try bus.kvPut(namespace: "ns", key: "a", value: [2], expectedRevision: 0) }
        #expect(try bus.kvPut(namespace: "ns", key: "a", value: [2], expectedRevision: 1) == 2)
        #expect(throws: PluginCallError.self) { try bus.kvPut(namespace: "ns", key: "a", value: [3], expectedRevision: 1) }
        #expect(try bus.kvPut(namespace: "ns", key: "a", value: [4], expectedRevision: UInt64.max) == 3)
        #expect(try bus.kvGet(namespace: "ns", key: "a")?.value == [4])
        // Scans (migration) see everything, in key order.
        let kv = try JSONParser.parse(try bus.kvScan(afterNamespace: "", afterKey: "", max: 10)).arrayValue ?? []
        #expect(kv.count == 1 && kv[0]["value_hex"]?.stringValue == "04")
        let keys = try JSONParser.parse(try bus.idempotencyScan(after: "", max: 10)).arrayValue ?? []
        #expect(keys.map { $0["key"]?.stringValue } == ["k1"])
    }

    /// Two instances on one schema are two hub nodes: a commit on one wakes the other's
    /// wait_commits (NOTIFY), and offsets appear in commit order even under concurrent writers.
    @Test func nodesSeeEachOthersCommitsInOrder() async throws {
        let a = try openBus()
        let b = try openBus()
        defer { a.destroy(); b.destroy() }
        let tail = try b.waitCommits(after: UInt64.max, timeoutMillis: 0)
        let woke = Task.detached { () -> (UInt64, Double) in
            let started = Date()
            let seen = (try? b.waitCommits(after: tail, timeoutMillis: 5_000)) ?? 0
            return (seen, Date().timeIntervalSince(started))
        }
        try await Task.sleep(for: .milliseconds(200))
        _ = try a.append([event("n1", 1, "t", state: "received")])
        let (seen, waited) = await woke.value
        #expect(seen == tail + 1)
        #expect(waited < 2, "NOTIFY should wake the other node at once, not at the timeout (waited \(waited) s)")
        #expect(try b.timeline("n1") != nil)
        // Four writers on two instances: every offset 1...N exactly once, no gap.
        await withTaskGroup(of: Void.self) { group in
            for writer in 0..<4 {
                let bus = writer % 2 == 0 ? a : b
                group.addTask {
                    for n in 0..<50 { _ = try? bus.append([self.event("w\(writer)-\(n)", 1, "t", state: "received")]) }
                }
            }
        }
        var offsets: [Int] = []
        var after: UInt64 = 0
        while true {
            let (page, next) = try b.read(after: after, max: 64)
            guard next > after else { break }
            offsets += (try JSONParser.parse(page).arrayValue ?? []).compactMap { $0["offset"]?.intValue }.map(Int.init)
            after = next
        }
        #expect(offsets == Array(1...201))
    }

    /// A budget counted down by compare-and-set from two nodes at once ends exact.
    @Test func compareAndSetIsExactAcrossNodes() async throws {
        let nodes = [try openBus(), try openBus()]
        defer { nodes.forEach { $0.destroy() } }
        _ = try nodes[0].kvPut(namespace: "rules", key: "budget", value: Array("0".utf8), expectedRevision: 0)
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                let bus = nodes[worker % 2]
                group.addTask {
                    var done = 0
                    while done < 50 {
                        guard let (value, rev) = try? bus.kvGet(namespace: "rules", key: "budget") else { continue }
                        let next = (Int(String(decoding: value, as: UTF8.self)) ?? 0) + 1
                        if (try? bus.kvPut(namespace: "rules", key: "budget", value: Array(String(next).utf8), expectedRevision: rev)) != nil { done += 1 }
                    }
                }
            }
        }
        #expect(try nodes[1].kvGet(namespace: "rules", key: "budget")?.value == Array("200".utf8))
    }

    @Test func refusesASchemaFromANewerVersionNamingBoth() throws {
        let bus = try openBus()
        bus.destroy()
        try PostgresServer.psql("UPDATE \(schema).meta SET value = '7' WHERE key = 'schema_version'")
        do {
            _ = try openBus()
            Issue.record("opened a schema from a newer version")
        } catch let error as LoadError {
            #expect(error.message.contains("schema version 7") && error.message.contains("up to 1"), "\(error.message)")
        }
    }

    @Test func anUnreachableServerIsATemporaryErrorNamingIt() throws {
        do {
            _ = try openBus(url: "postgresql://orderhub@127.0.0.1:1/postgres?connect_timeout=2")
            Issue.record("created a bus without a server")
        } catch let error as LoadError {
            #expect(error.temporary, "a server that does not answer may answer later (HUB_AGAIN)")
            #expect(error.message.contains("127.0.0.1:1/postgres"), "\(error.message)")
        }
        do {
            _ = try openBus(url: "not a url =")
            Issue.record("accepted a bad url")
        } catch let error as LoadError {
            #expect(!error.temporary && error.message.contains("config.url"), "\(error.message)")
        }
    }
}
