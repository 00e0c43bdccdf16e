import Foundation
import HubCore
import HubDevTools
import HubLoader
import Testing

/// The host services of ABI v1 used for real by a C plugin inside a running hub:
/// config, KV with compare-and-set, subscribe/on_event, schedule/on_timer, publish, metrics.
@Suite(.serialized) struct HostServicesTests {
    @Test func aPluginUsesEveryHostService() async throws {
        let probe = Products.tempDirectory("probe") + "/probe.so"
        try Products.compileC(Products.repository + "/Tests/Fixtures/services_probe.c", to: probe)
        let extra = """
              probe:
                kind: rules
                library: \(probe)
                config: {pattern: "com.orderhub.order.*"}
            """
        let h = try await HubHarness.start(extra: extra)
        defer { Task { await h.stop() } }
        let created = try await HTTP.postOrder(h.baseURL, key: "svc", SampleOrders.order())
        let id = try #require(created.object["id"] as? String)

        // on_event: received, accepted, status_changed(released) match "com.orderhub.order.*".
        let bus = h.hub.plugins.bus
        #expect(await HTTP.eventually { (try? bus.kvGet(namespace: "probe", key: "seen")).flatMap { $0 }.map { String(decoding: $0.value, as: UTF8.self) } == "3" })
        #expect(try bus.kvGet(namespace: "probe", key: "created_at_ns") != nil)
        #expect(try bus.kvGet(namespace: "rules", key: "seen") == nil, "KV is namespaced per slot")

        // on_timer fired and the plugin's published event is on the order's timeline.
        var types: [String] = []
        #expect(try await HTTP.eventually {
            let order = try await HTTP.send("GET", h.baseURL + "/v1/orders/\(id)").object
            types = (order["timeline"] as? [[String: Any]] ?? []).compactMap { $0["type"] as? String }
            return types.contains("com.example.probe.timer_fired.v1")
        })
        let fired = try await HTTP.send("GET", h.baseURL + "/v1/orders/\(id)/events").json as? [[String: Any]] ?? []
        let event = fired.first { $0["type"] as? String == "com.example.probe.timer_fired.v1" }
        #expect(event?["producer"] as? String == "probe")
        #expect((event?["data"] as? [String: Any])?["token"] as? Int == 7)
        #expect(try bus.kvGet(namespace: "probe", key: "timer").map { String(decoding: $0.value, as: UTF8.self) } == "fired")

        let metrics = try await HTTP.send("GET", h.baseURL + "/metrics").text
        #expect(metrics.contains("orderhub_plugin_probe_events_total{slot=\"probe\"}"))
    }

    /// The same probe in a worker process: events, KV, timers and publishing cross the socket
    /// (a call served on the worker's reader thread reads its own service answers).
    @Test func anIsolatedPluginUsesEveryHostServiceThroughItsWorker() async throws {
        let probe = Products.tempDirectory("probe-isolated") + "/probe.so"
        try Products.compileC(Products.repository + "/Tests/Fixtures/services_probe.c", to: probe)
        let extra = """
              probe:
                kind: rules
                library: \(probe)
                isolation: process
                config: {pattern: "com.orderhub.order.*"}
            """
        let h = try await HubHarness.start(extra: extra, pipeline: "[rules, predictor, probe]")
        defer { Task { await h.stop() } }
        #expect(h.hub.plugins.slot("probe")?.primary.isolation == "process")
        let created = try await HTTP.postOrder(h.baseURL, key: "svc-iso", SampleOrders.order())
        let id = try #require(created.object["id"] as? String)
        let bus = h.hub.plugins.bus
        #expect(await HTTP.eventually { (try? bus.kvGet(namespace: "probe", key: "seen")).flatMap { $0 }.map { String(decoding: $0.value, as: UTF8.self) } == "3" })
        #expect(try await HTTP.eventually {
            let order = try await HTTP.send("GET", h.baseURL + "/v1/orders/\(id)").object
            return (order["timeline"] as? [[String: Any]] ?? []).contains { $0["type"] as? String == "com.example.probe.timer_fired.v1" && $0["producer"] as? String == "probe" }
        })
        #expect(try bus.kvGet(namespace: "probe", key: "timer").map { String(decoding: $0.value, as: UTF8.self) } == "fired")
    }

    @Test func aPluginAnsweringBrokenJSONHoldsTheOrderAndTheLogStaysValid() async throws {
        let probe = Products.tempDirectory("badjson") + "/bad.so"
        try Products.compileC(Products.repository + "/Tests/Fixtures/services_probe.c", to: probe, defines: ["PROBE_BAD_JSON"])
        let manifestExtra = """
              broken:
                kind: rules
                library: \(probe)
            """
        let h = try await HubHarness.start(extra: manifestExtra, pipeline: "[broken, rules, predictor]")
        defer { Task { await h.stop() } }
        let created = try await HTTP.postOrder(h.baseURL, key: "bad-json", SampleOrders.order())
        #expect(created.status == 201)
        #expect(created.object["state"] as? String == "on_hold", "fail closed: a pipeline plugin that cannot answer holds the order")
        let id = try #require(created.object["id"] as? String)
        let events = try await HTTP.send("GET", h.baseURL + "/v1/orders/\(id)/events")
        let list = try #require(events.json as? [[String: Any]], "the log must stay valid JSON")
        let failure = list.first { $0["type"] as? String == EventTypes.pluginFailed }
        #expect(((failure?["data"] as? [String: Any])?["error"] as? String)?.contains("answer is not a JSON object") == true)
        #expect(h.wms.accepted.isEmpty)
    }

    /// By default every order is explained: path attribution where no person must act.
    @Test func everyOrderIsExplainedByDefault() async throws {
        let extra = """
              trees:
                kind: predictor
                library: \(try Products.library("PredictorTrees"))
                config:
                  model_dir: \(Products.repository)/manifests/models/late_delivery_lgbm
                  quadrant: {impact_value: 100000, high_tiers: [], probability: 0.99}
            """
        let h = try await HubHarness.start(extra: extra, pipeline: "[rules, trees]")
        defer { Task { await h.stop() } }
        let id = try #require(try await HTTP.postOrder(h.baseURL, key: "path", SampleOrders.order(price: "20.00")).object["id"] as? String)
        let document = try await HTTP.send("GET", h.baseURL + "/v1/orders/\(id)").object
        let shown = try #require((document["predictions"] as? [[String: Any]])?.first)
        #expect(shown["quadrant"] as? String == "low")
        #expect(shown["explanation"] as? String == "path")
        #expect((shown["contributions"] as? [String: Any])?.count == 3)
    }

    @Test func treeModelScoresOrdersWithExplanationsAndAQuadrant() async throws {
        let extra = """
              trees:
                kind: predictor
                library: \(try Products.library("PredictorTrees"))
                config:
                  model_dir: \(Products.repository)/manifests/models/late_delivery_lgbm
                  quadrant: {impact_value: 100, probability: 0.01}
                  explain: all
            """
        let h = try await HubHarness.start(extra: extra, pipeline: "[rules, predictor, trees]")
        defer { Task { await h.stop() } }
        let id = try #require(try await HTTP.postOrder(h.baseURL, key: "trees", SampleOrders.order(price: "200.00")).object["id"] as? String)
        let document = try await HTTP.send("GET", h.baseURL + "/v1/orders/\(id)").object
        let timeline = document["timeline"] as? [[String: Any]] ?? []
        let scored = try #require(timeline.first { $0["producer"] as? String == "trees" }?["data"] as? [String: Any])
        // The order shows each prediction at the top level too, with the method of its explanation.
        let shown = try #require((document["predictions"] as? [[String: Any]])?.first { $0["slot"] as? String == "trees" })
        #expect(shown["score"] as? Double == scored["score"] as? Double)
        #expect(shown["explanation"] as? String == "treeshap", "explain: all uses TreeSHAP on every order")
        #expect(scored["model"] as? String == "late_delivery")
        #expect(scored["version"] as? String == "2017-lgbm-1")
        let score = try #require(scored["score"] as? Double)
        #expect((0...1).contains(score))
        #expect((scored["contributions"] as? [String: Any])?.count == 3, "top three TreeSHAP contributions")
        #expect(scored["high_impact"] as? Bool == true, "400.00 is above the configured 100.00")
        #expect(scored["quadrant"] as? String == (score >= 0.01 ? "critical" : "watch"))
        let metrics = try await HTTP.send("GET", h.baseURL + "/metrics").text
        for name in ["orderhub_plugin_predictions_total{slot=\"trees\"} 1", "orderhub_plugin_prediction_seconds_count{slot=\"trees\"} 1",
                     "orderhub_plugin_prediction_score_bucket{slot=\"trees\"", "orderhub_plugin_prediction_missing_features_total{slot=\"trees\"}"] {
            #expect(metrics.contains(name), "missing \(name)")
        }
    }

    @Test func riskyOrdersGetASuggestionWithSimilarPastOrders() async throws {
        let extra = """
              trees:
                kind: predictor
                library: \(try Products.library("PredictorTrees"))
                config:
                  model_dir: \(Products.repository)/manifests/models/late_delivery_lgbm
                  quadrant: {impact_value: 100, probability: 0.0}
                  actions: {critical: "Ship it express."}
            """
        let h = try await HubHarness.start(extra: extra, pipeline: "[rules, predictor, trees]")
        defer { Task { await h.stop() } }
        let id = try #require(try await HTTP.postOrder(h.baseURL, key: "risky", SampleOrders.order(price: "200.00")).object["id"] as? String)
        let document = try await HTTP.send("GET", h.baseURL + "/v1/orders/\(id)").object
        let timeline = document["timeline"] as? [[String: Any]] ?? []
        let scored = try #require(timeline.first { $0["producer"] as? String == "trees" }?["data"] as? [String: Any])
        // The order shows each prediction at the top level too, with the method of its explanation.
        let shown = try #require((document["predictions"] as? [[String: Any]])?.first { $0["slot"] as? String == "trees" })
        #expect(shown["score"] as? Double == scored["score"] as? Double)
        #expect(shown["explanation"] as? String == "treeshap", "explain: all uses TreeSHAP on every order")
        #expect(scored["quadrant"] as? String == "critical")
        let suggestion = try #require(scored["suggestion"] as? [String: Any])
        #expect(suggestion["action"] as? String == "Ship it express.")
        let similar = suggestion["similar_past_orders"] as? [[String: Any]] ?? []
        #expect(similar.count == 5)
        #expect(similar.allSatisfy { ($0["order_id"] as? String)?.count == 32 && $0["late"] is Bool })
        let distances = similar.compactMap { $0["distance"] as? Double }
        #expect(distances == distances.sorted(), "nearest first")

        let board = try await HTTP.send("GET", h.baseURL + "/v1/predictions/suggestions?limit=10").object
        let listed = board["suggestions"] as? [[String: Any]] ?? []
        #expect(listed.first?["order_id"] as? String == id)
        #expect(listed.first?["quadrant"] as? String == "critical")
        #expect(try await HTTP.send("GET", h.baseURL + "/v1/predictions/suggestions?limit=0").status == 400)
    }

    @Test func modelsArePublishedShadowedAndRolledBackWithoutARestart() async throws {
        let store = Products.tempDirectory("store") + "/late"
        let trained = Products.repository + "/manifests/models/late_delivery_lgbm"
        #expect(try ChildProcess.run(["model", "add", "--dir", store, "--from", trained, "--version", "v1"]).status == 0)
        #expect(try ChildProcess.run(["model", "add", "--dir", store, "--from", trained, "--version", "v2"]).status == 0)
        // v2 is the same trees under another version name, so the switch is visible.
        let metrics = store + "/versions/v2/metrics.json"
        try String(contentsOfFile: metrics, encoding: .utf8).replacingOccurrences(of: "2017-lgbm-1", with: "2017-lgbm-2")
            .write(toFile: metrics, atomically: true, encoding: .utf8)
        #expect(try ChildProcess.run(["model", "publish", "--dir", store, "--version", "v1"]).status == 0)
        let broken = try ChildProcess.run(["model", "publish", "--dir", store, "--version", "nope"])
        #expect(broken.status != 0 && broken.stderr.contains("no such version"))

        let extra = """
              trees:
                kind: predictor
                library: \(try Products.library("PredictorTrees"))
                config: {model_dir: \(store)}
            """
        let h = try await HubHarness.start(extra: extra, pipeline: "[rules, predictor, trees]")
        defer { Task { await h.stop() } }
        var n = 0
        func scored() async throws -> [String: Any] {
            n += 1
            let id = try #require(try await HTTP.postOrder(h.baseURL, key: "store-\(n)", SampleOrders.order()).object["id"] as? String)
            let timeline = try await HTTP.send("GET", h.baseURL + "/v1/orders/\(id)").object["timeline"] as? [[String: Any]] ?? []
            return timeline.first { $0["producer"] as? String == "trees" }?["data"] as? [String: Any] ?? [:]
        }
        #expect(try await scored()["version"] as? String == "2017-lgbm-1")

        #expect(try ChildProcess.run(["model", "publish", "--dir", store, "--version", "v2"]).status == 0)
        #expect(try await HTTP.eventually(5) { try await scored()["version"] as? String == "2017-lgbm-2" })

        #expect(try ChildProcess.run(["model", "shadow", "--dir", store, "--version", "v1"]).status == 0)
        var withShadow: [String: Any] = [:]
        #expect(try await HTTP.eventually(5) {
            withShadow = try await scored()
            return withShadow["shadow"] != nil
        })
        let shadow = withShadow["shadow"] as? [String: Any]
        #expect(shadow?["version"] as? String == "2017-lgbm-1")
        #expect(shadow?["score"] as? Double == withShadow["score"] as? Double, "same trees, same score")

        #expect(try ChildProcess.run(["model", "rollback", "--dir", store]).status == 0)
        #expect(try await HTTP.eventually(5) { try await scored()["version"] as? String == "2017-lgbm-1" })
        let metricsText = try await HTTP.send("GET", h.baseURL + "/metrics").text
        #expect(metricsText.contains("orderhub_plugin_prediction_shadow_agreement_total{slot=\"trees\"}"))
    }
}
