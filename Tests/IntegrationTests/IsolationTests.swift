import Foundation
import HubCore
import HubDevTools
import HubLoader
import Testing

/// `isolation: process`: the same .so in a worker process of its own, over the same ABI. A
/// plugin that aborts or hangs takes down its worker only: the call fails cleanly (the order
/// is held for a person, a delivery is retried), the worker restarts, the crash is on the
/// log and in the metrics, and the hub serves on.
@Suite(.serialized) struct IsolationTests {
    static func isolated(_ extra: String = "") -> String { "    isolation: process\n" + extra }

    func events(_ h: ComposeHarness, _ id: String) async throws -> [[String: Any]] {
        (try await HTTP.send("GET", h.baseURL + "/v1/orders/\(id)/events").json as? [[String: Any]]) ?? []
    }

    @Test func aCrashingPluginTakesDownItsWorkerNotTheHub() async throws {
        let directory = Products.tempDirectory()
        let crashy = try ComposeHarness.counter(directory, "crashy", defines: ["COUNTER_CRASH"])
        let path = try ComposeHarness(directory: directory).manifest("isolated", rules: crashy, rulesExtra: Self.isolated())
        let h = try await ComposeHarness.start(path, directory: directory)
        defer { Task { await h.stop() } }
        let plugins = try await HTTP.send("GET", h.baseURL + "/v1/plugins").text
        #expect(plugins.contains("\"isolation\":\"process\""), "\(plugins)")
        let first = try await h.tags(try await h.order("iso-1"))
        #expect(first.contains("n:1"), "\(first)")
        // This order makes the plugin abort(): the worker dies, the order is held, the hub lives.
        let bad = try await HTTP.send("POST", h.baseURL + "/v1/orders", headers: ["Idempotency-Key": "iso-crash", "Content-Type": "application/json"],
                                      body: Data(SampleOrders.order(ref: "crash-me").utf8))
        #expect(bad.status == 201, "\(bad.text)")
        #expect(bad.object["state"] as? String == "on_hold", "\(bad.text)")
        let timeline = try await events(h, bad.object["id"] as? String ?? "")
        let failure = timeline.first { $0["type"] as? String == "com.orderhub.plugin.call_failed.v1" }
        #expect("\(failure ?? [:])".contains("crashed during the call"), "\(timeline)")
        // The worker comes back (a fresh instance: its count starts again) and orders flow.
        // (Orders sent while it restarts are held too, which is the point: nothing half-judged.)
        #expect(await HTTP.eventually(10) {
            guard let id = try? await h.order("iso-after-\(UUID().uuidString.prefix(6))"), let list = try? await events(h, id) else { return false }
            return list.contains { $0["type"] as? String == "com.orderhub.rules.evaluated.v1" }
        })
        let metrics = try await HTTP.send("GET", h.baseURL + "/metrics").text
        #expect(metrics.contains("orderhub_plugin_worker_restarts_total{slot=\"rules\"} 1"), "\(metrics.split(separator: "\n").filter { $0.contains("worker") })")
        let (log, _) = try h.hub.plugins.bus.read(after: 0, max: 10_000)
        let text = String(decoding: log, as: UTF8.self)
        #expect(text.contains("com.orderhub.plugin.worker_restarted.v1") && text.contains("signal 6 (abort)"), "\(text.suffix(600))")
    }

    @Test func aHungPluginIsCutOffAfterItsTimeout() async throws {
        let directory = Products.tempDirectory()
        let slow = try ComposeHarness.counter(directory, "slow", defines: ["COUNTER_SLOW_US=3000000"])
        let path = try ComposeHarness(directory: directory).manifest("hung", rules: slow, rulesExtra: Self.isolated("    call_timeout_ms: 300"))
        let h = try await ComposeHarness.start(path, directory: directory)
        defer { Task { await h.stop() } }
        let started = Date()
        let result = try await HTTP.send("POST", h.baseURL + "/v1/orders", headers: ["Idempotency-Key": "hung-1", "Content-Type": "application/json"],
                                         body: Data(SampleOrders.order(ref: "HUNG-1").utf8))
        #expect(Date().timeIntervalSince(started) < 2.5, "the call was not cut off")
        #expect(result.object["state"] as? String == "on_hold", "\(result.text)")
        let timeline = try await events(h, result.object["id"] as? String ?? "")
        #expect("\(timeline)".contains("worker in 300 ms; it was killed and is restarting"), "\(timeline)")
    }

    @Test func anIsolatedConnectorDeliversAndAnIsolatedSlotSwapsWithItsState() async throws {
        let directory = Products.tempDirectory()
        let v1 = try ComposeHarness.counter(directory, "v1")
        let wms = FakeWMS()
        try await wms.start()
        defer { Task { await wms.stop() } }
        let connector = """
              wms:
                kind: connector
                library: \(try Products.library("HTTPConnector"))
                isolation: process
                config: {url: "\(wms.url)", timeout_ms: 2000}
            """
        let base = try ComposeHarness(directory: directory).manifest("one", rules: v1, extra: connector)
        let h = try await ComposeHarness.start(base, directory: directory)
        defer { Task { await h.stop() } }
        let id = try await h.order("iso-wms-1")
        #expect(await HTTP.eventually(10) { wms.accepted.contains { $0.orderID == id } })
        #expect(await HTTP.eventually(10) {
            (try? await events(h, id))?.contains { $0["type"] as? String == "com.orderhub.dispatch.acknowledged.v1" } == true
        })
        // In-process -> isolated by apply: the count crosses into the worker.
        let moved = try await h.apply(try h.manifest("two", rules: v1, rulesExtra: Self.isolated(), extra: connector))
        #expect(moved.status == 200 && moved.text.contains("state handed over"), "\(moved.text)")
        #expect(h.hub.plugins.slot("rules")?.primary.isolation == "process")
        #expect(try await h.tags(try await h.order("iso-wms-2")).contains("n:2"))
    }
}
