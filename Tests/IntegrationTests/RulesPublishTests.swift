import Foundation
import Testing

/// Publishing under load: an order is judged by one whole version, never a mix; velocity
/// windows carry over a publish; a simulation can take a time range.
@Suite struct RulesPublishTests {
    /// Version N gives N.00 off through two rules (two halves): a mix of versions would show
    /// a discount that is not a whole multiple, or a fired list naming two versions.
    static func ruleset(_ version: Int) -> String {
        """
        ruleset: flip
        description: version \(version)
        rules:
          - id: half-a
            then: [{discount: {amount: "\(version).00"}}]
          - id: half-b
            then: [{discount: {amount: "\(version).00"}}]
        """
    }

    @Test func ordersSeeOneWholeVersionWhilePublishing() async throws {
        let h = try await HubHarness.start(extra: RulesEngineTests.engine, pipeline: "[engine]")
        defer { Task { await h.stop() } }
        for version in 1...6 {
            let created = try await RulesEngineTests.post(h.baseURL, "/v1/rulesets", Self.ruleset(version), type: "application/yaml")
            #expect(created.status == 201, "\(created.text)")
        }
        _ = try await RulesEngineTests.post(h.baseURL, "/v1/rulesets/flip/publish", #"{"version": 1}"#)
        let base = h.baseURL
        let publisherDone = Flag()
        let publisher = Task {
            defer { Task { await publisherDone.set() } }
            for round in 0..<30 {
                let version = round % 6 + 1
                _ = try await RulesEngineTests.post(base, "/v1/rulesets/flip/publish", #"{"version": \#(version)}"#)
            }
        }
        // Orders keep coming until every publish has landed (at least 60), so the two overlap
        // whatever the machine's speed.
        let answers = try await withThrowingTaskGroup(of: [(version: Int, discount: Int)].self) { group in
            for worker in 0..<6 {
                group.addTask {
                    var mine: [(version: Int, discount: Int)] = []
                    var index = 0
                    while true {
                        let done = await publisherDone.value
                        if index >= 10 && done { break }
                        let answer = RulesEngineTests.rulesAnswer(try await RulesEngineTests.order(base, "flip-\(worker)-\(index)", price: "100.00"))
                        mine.append(((answer["rulesets"] as? [[String: Any]])?.first?["version"] as? Int ?? -1, answer["discount_minor"] as? Int ?? -1))
                        index += 1
                    }
                    return mine
                }
            }
            return try await group.reduce(into: [(version: Int, discount: Int)]()) { $0 += $1 }
        }
        try await publisher.value
        #expect(answers.count >= 60)
        #expect(Set(answers.map(\.version)).count > 1, "the publishes landed while orders were judged")
        for answer in answers {
            #expect(answer.discount == answer.version * 200, "version \(answer.version) gives 2 × \(answer.version).00, got \(answer.discount)")
        }
    }

    @Test func velocityWindowsCarryOverAPublish() async throws {
        let h = try await HubHarness.start(extra: RulesEngineTests.engine, pipeline: "[engine]")
        defer { Task { await h.stop() } }
        func burst(_ note: String) -> String {
            """
            ruleset: risk
            description: \(note)
            rules:
              - id: same-ip-burst
                velocity: {key: {var: client_ip}, window: 60s, at_least: 4}
                then: [{hold: {type: risk, reason: "4 orders from one IP within 60 s"}}]
            """
        }
        _ = try await RulesEngineTests.post(h.baseURL, "/v1/rulesets", burst("v1"), type: "application/yaml")
        _ = try await RulesEngineTests.post(h.baseURL, "/v1/rulesets/risk/publish")
        for index in 0..<3 {
            _ = try await RulesEngineTests.order(h.baseURL, "ip-\(index)", price: "10.00", ip: "198.51.100.77")
        }
        _ = try await RulesEngineTests.post(h.baseURL, "/v1/rulesets", burst("v2, reworded"), type: "application/yaml")
        _ = try await RulesEngineTests.post(h.baseURL, "/v1/rulesets/risk/publish")
        let fourth = try await RulesEngineTests.order(h.baseURL, "ip-3", price: "10.00", ip: "198.51.100.77")
        #expect(fourth["state"] as? String == "on_hold", "the 3 orders judged by v1 still count under v2")
        #expect((RulesEngineTests.rulesAnswer(fourth)["rulesets"] as? [[String: Any]])?.first?["version"] as? Int == 2)
    }

    @Test func simulateTakesATimeRange() async throws {
        let h = try await HubHarness.start(extra: RulesEngineTests.engine, pipeline: "[engine]")
        defer { Task { await h.stop() } }
        _ = try await RulesEngineTests.order(h.baseURL, "early", price: "350.00")
        try await Task.sleep(for: .milliseconds(50))
        let cut = Date()
        try await Task.sleep(for: .milliseconds(50))
        _ = try await RulesEngineTests.order(h.baseURL, "late-1", price: "350.00")
        _ = try await RulesEngineTests.order(h.baseURL, "late-2", price: "100.00")
        _ = try await RulesEngineTests.post(h.baseURL, "/v1/rulesets", RulesEngineTests.checkout, type: "application/yaml")
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let since = formatter.string(from: cut)
        let report = try await RulesEngineTests.post(h.baseURL, "/v1/rulesets/checkout/simulate", #"{"since": "\#(since)"}"#)
        #expect(report.status == 200, "\(report.text)")
        #expect(report.object["orders"] as? Int == 2, "only the orders received after \(since)")
        #expect(report.object["changed_count"] as? Int == 1)
        let bad = try await RulesEngineTests.post(h.baseURL, "/v1/rulesets/checkout/simulate", #"{"since": "yesterday", "last": 0}"#)
        #expect(bad.status == 422)
        #expect((bad.object["problems"] as? [[String: Any]])?.compactMap { $0["field"] as? String }.sorted() == ["last", "since"])
    }
}

/// Stopping a hub while the rules engine's snapshot timer runs: the last save happens in
/// shutdown, and no background work calls the host after it (a late call once crashed the
/// process at exit, after the bus was gone).
@Suite struct RulesShutdownTests {
    @Test func stopWhileSnapshotsRunNeverCallsAGoneHost() async throws {
        let engine = "  engine:\n    kind: rules\n    library: \(try Products.library("RulesEngine"))\n    config: {snapshot_interval_ms: 50}\n"
        for round in 0..<8 {
            let h = try await HubHarness.start(extra: engine, pipeline: "[engine]", name: "shutdown\(round)")
            let burst = "ruleset: risk\nrules:\n  - id: burst\n    velocity: {key: {var: client_ip}, window: 60s, at_least: 100}\n    then: [{tag: busy}]\n"
            _ = try await RulesEngineTests.post(h.baseURL, "/v1/rulesets", burst, type: "application/yaml")
            _ = try await RulesEngineTests.post(h.baseURL, "/v1/rulesets/risk/publish")
            _ = try await RulesEngineTests.order(h.baseURL, "o-\(round)", price: "10.00")
            try await Task.sleep(for: .milliseconds(45 + round * 3))
            await h.stop()
        }
        // Timers scheduled before the stops come due now; none may touch a destroyed host.
        try await Task.sleep(for: .milliseconds(200))
    }
}

/// A version that lowers a promotion's limit holds at once; publishing the live version again
/// does not break rollback.
@Suite struct RulesLimitChangeTests {
    static func promo(_ limit: Int) -> String {
        "ruleset: promo\nrules:\n  - id: ten-off\n    then: [{discount: {amount: \"10.00\"}}]\n    limits: {redemptions: \(limit)}\n"
    }

    @Test func aLoweredLimitHoldsAtOnce() async throws {
        let h = try await HubHarness.start(extra: RulesEngineTests.engine, pipeline: "[engine]")
        defer { Task { await h.stop() } }
        _ = try await RulesEngineTests.post(h.baseURL, "/v1/rulesets", Self.promo(100), type: "application/yaml")
        _ = try await RulesEngineTests.post(h.baseURL, "/v1/rulesets/promo/publish")
        for index in 0..<7 {
            let order = try await RulesEngineTests.order(h.baseURL, "v1-\(index)", price: "50.00", customer: "c-\(index)")
            #expect(RulesEngineTests.rulesAnswer(order)["discount_minor"] as? Int == 1000)
        }
        // v2 allows 5 in total: 7 were given already, so nobody more gets it.
        _ = try await RulesEngineTests.post(h.baseURL, "/v1/rulesets", Self.promo(5), type: "application/yaml")
        _ = try await RulesEngineTests.post(h.baseURL, "/v1/rulesets/promo/publish")
        let after = try await RulesEngineTests.order(h.baseURL, "v2-0", price: "50.00", customer: "c-new")
        #expect(RulesEngineTests.rulesAnswer(after)["discount_minor"] as? Int == 0)

        // Publishing the live v2 again, then rolling back, goes back to v1.
        _ = try await RulesEngineTests.post(h.baseURL, "/v1/rulesets/promo/publish", #"{"version": 2}"#)
        let rolled = try await RulesEngineTests.post(h.baseURL, "/v1/rulesets/promo/rollback")
        #expect(rolled.object["live"] as? Int == 1, "\(rolled.text)")
    }
}

/// Set once, read by many tasks.
actor Flag {
    private(set) var value = false
    func set() { value = true }
}
