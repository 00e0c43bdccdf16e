import Foundation
import HubCore
import HubLoader
import Testing

/// `orderhub apply` on a running hub: the plan first, then a hot swap under load that
/// loses, repeats and resets nothing; refusals that change nothing; canary by order hash,
/// promotion and rollback. The rules slot is a stateful counter compiled in several versions,
/// so every order's answer says which version judged it and the count it had reached.
@Suite(.serialized) struct ComposeTests {
    struct Setup {
        let directory: String
        let v1: String
        let v2: String
        init(_ name: String = #function) throws {
            directory = Products.tempDirectory(name)
            v1 = try ComposeHarness.counter(directory, "v1")
            v2 = try ComposeHarness.counter(directory, "v2", defines: [#"COUNTER_VERSION="2.0.0""#, "COUNTER_SLOW_US=300"])
        }
    }

    static func count(_ tags: [String]) -> Int? { tags.first { $0.hasPrefix("n:") }.flatMap { Int($0.dropFirst(2)) } }
    static func version(_ tags: [String]) -> String? { tags.first { $0.hasPrefix("v") } }

    @Test func dryRunShowsThePlanAndChangesNothing() async throws {
        let s = try Setup()
        let h = try await ComposeHarness.start(try ComposeHarness(directory: s.directory).manifest("one", rules: s.v1), directory: s.directory)
        defer { Task { await h.stop() } }
        let next = try h.manifest("two", rules: s.v2)
        let plan = try await h.apply(next, dryRun: true)
        #expect(plan.status == 200, "\(plan.text)")
        let changes = plan.object["changes"] as? [[String: Any]] ?? []
        #expect(changes.count == 1)
        #expect(changes.first?["action"] as? String == "swap")
        #expect((changes.first?["from"] as? String)?.hasPrefix("test.counter 1.0.0") == true)
        #expect((changes.first?["to"] as? String)?.hasPrefix("test.counter 2.0.0") == true)
        #expect((plan.object["plan"] as? String)?.contains("~ swap rules: test.counter 1.0.0") == true, "\(plan.text)")
        #expect(h.hub.plugins.slot("rules")?.primary.descriptor.version == "1.0.0")
        // The same manifest again: nothing to do.
        let same = try await h.apply(try h.manifest("one-again", rules: s.v1), dryRun: true)
        #expect((same.object["changes"] as? [Any])?.isEmpty == true, "\(same.text)")
    }

    @Test func swapUnderLoadLosesRepeatsAndResetsNothing() async throws {
        let s = try Setup()
        let h = try await ComposeHarness.start(try ComposeHarness(directory: s.directory).manifest("one", rules: s.v1), directory: s.directory)
        defer { Task { await h.stop() } }
        let toV2 = try h.manifest("two", rules: s.v2)
        let clients = 6, perClient = 120
        // Load from six clients; the swap happens a third of the way in, the rollback at two thirds.
        async let load: [String] = withThrowingTaskGroup(of: [String].self) { group in
            for client in 0..<clients {
                group.addTask {
                    var ids: [String] = []
                    for index in 0..<perClient { ids.append(try await h.order("load-\(client)-\(index)")) }
                    return ids
                }
            }
            var all: [String] = []
            for try await ids in group { all += ids }
            return all
        }
        try await Task.sleep(for: .milliseconds(300))
        let applied = try await h.apply(toV2)
        #expect(applied.status == 200, "\(applied.text)")
        #expect((applied.object["after"] as? [String: Any]).map { "\($0)" }?.contains("2.0.0") == true)
        try await Task.sleep(for: .milliseconds(300))
        let back = try await h.post("/v1/admin/slots/rules/rollback")
        #expect(back.status == 200, "\(back.text)")
        let ids = try await load
        #expect(ids.count == clients * perClient)
        var counts: [Int] = []
        var versions = Set<String>()
        for id in ids {
            let tags = try await h.tags(id)
            if let n = Self.count(tags) { counts.append(n) }
            if let v = Self.version(tags) { versions.insert(v) }
        }
        // Every order judged exactly once, and the count carried across v1 -> v2 -> v1.
        #expect(counts.count == ids.count)
        #expect(counts.sorted() == Array(1...ids.count), "counts lost, repeated or reset across the swaps")
        #expect(versions == ["v1.0.0", "v2.0.0"])
        let health = h.hub.plugins.slot("rules")?.primary.health().map { String(decoding: $0, as: UTF8.self) } ?? ""
        #expect(health.contains("\"count\":\(ids.count)"), "\(health)")
        #expect(h.hub.plugins.slot("rules")?.primary.descriptor.version == "1.0.0")
    }

    @Test func plansThatCannotBeCarriedOutChangeNothing() async throws {
        let s = try Setup()
        let refusing = try ComposeHarness.counter(s.directory, "v3", defines: [#"COUNTER_VERSION="3.0.0""#, "COUNTER_IMPORT_REFUSES"])
        let h = try await ComposeHarness.start(try ComposeHarness(directory: s.directory).manifest("one", rules: s.v1), directory: s.directory)
        defer { Task { await h.stop() } }
        _ = try await h.order("before-1")
        // A checksum that does not match: the position of the pin is named.
        let wrongPin = try h.manifest("pin", rules: s.v2)
        let text = try String(contentsOfFile: wrongPin, encoding: .utf8)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let rulesSha = try #require(lines.lastIndex { $0.contains("sha256:") })
        lines[rulesSha] = lines[rulesSha].replacingOccurrences(of: #"[0-9a-f]{64}"#, with: String(repeating: "ab", count: 32), options: .regularExpression)
        try lines.joined(separator: "\n").write(toFile: wrongPin, atomically: true, encoding: .utf8)
        let checksum = try await h.apply(wrongPin)
        #expect(checksum.status == 409)
        #expect(checksum.text.contains("pin.yaml:\(rulesSha + 1):"), "\(checksum.text)")
        #expect(checksum.text.contains("sha256 is"), "\(checksum.text)")
        // A config the new version refuses.
        let refusedConfig = try h.manifest("config", rules: s.v2, rulesExtra: "    config: {refuse: true}")
        let config = try await h.apply(refusedConfig)
        #expect(config.status == 409 && config.text.contains("plugins.rules.config"), "\(config.text)")
        #expect(config.text.contains("refuses the config"), "\(config.text)")
        // A version outside the slot's range.
        let range = try await h.apply(try h.manifest("range", rules: s.v2, rulesExtra: #"    version: "^1.2""#))
        #expect(range.status == 409 && range.text.contains("accepts versions ^1.2 but 'test.counter' is 2.0.0"), "\(range.text)")
        // The state bus is not swapped live.
        let bus = try await h.apply(try h.manifest("bus", rules: s.v1).replacingBusPath())
        #expect(bus.status == 409 && bus.text.contains("the state bus is changed by a restart"), "\(bus.text)")
        // A version that cannot take the state: the swap is undone, v1 serves on with its count.
        let state = try await h.apply(try h.manifest("state", rules: refusing))
        #expect(state.status == 409 && state.text.contains("import_state into test.counter 3.0.0 failed"), "\(state.text)")
        #expect(h.hub.plugins.slot("rules")?.primary.descriptor.version == "1.0.0")
        let after = try await h.order("after-1")
        #expect(Self.count(try await h.tags(after)) == 2)
        #expect(Self.version(try await h.tags(after)) == "v1.0.0")
        // Every refusal is in the audit log.
        let audit = try await HTTP.send("GET", h.baseURL + "/v1/audit?limit=50")
        let entries = audit.object["entries"] as? [[String: Any]] ?? []
        #expect(entries.filter { ($0["data"] as? [String: Any])?["status"] as? Int == 409 }.count >= 5, "\(audit.text)")
    }

    /// The commands an admin types: `orderhub apply --dry-run`, `apply`, `rollback`, with their
    /// output and exit statuses (3 when refused, nothing changed).
    @Test func theCommandLineShowsThePlanAppliesAndRollsBack() async throws {
        let s = try Setup()
        let h = try await ComposeHarness.start(try ComposeHarness(directory: s.directory).manifest("one", rules: s.v1), directory: s.directory)
        defer { Task { await h.stop() } }
        let next = try h.manifest("two", rules: s.v2)
        let plan = try ChildProcess.run(["apply", next, "--dry-run", "--hub", h.baseURL])
        #expect(plan.status == 0, "\(plan.stdout)\(plan.stderr)")
        #expect(plan.stdout.contains("~ swap rules: test.counter 1.0.0") && plan.stdout.contains("dry run: nothing changed"), "\(plan.stdout)")
        #expect(h.hub.plugins.slot("rules")?.primary.descriptor.version == "1.0.0")
        let applied = try ChildProcess.run(["apply", next, "--hub", h.baseURL])
        #expect(applied.status == 0 && applied.stdout.contains("applied in"), "\(applied.stdout)\(applied.stderr)")
        #expect(h.hub.plugins.slot("rules")?.primary.descriptor.version == "2.0.0")
        let refused = try ChildProcess.run(["apply", try h.manifest("range", rules: s.v1, rulesExtra: #"    version: ">=2.0.0""#), "--hub", h.baseURL])
        #expect(refused.status == 3 && refused.stderr.contains("accepts versions >=2.0.0") && refused.stderr.contains("nothing was changed"),
                "\(refused.stdout)\(refused.stderr)")
        let back = try ChildProcess.run(["rollback", "rules", "--hub", h.baseURL])
        #expect(back.status == 0 && back.stdout.contains("~ swap rules"), "\(back.stdout)\(back.stderr)")
        #expect(h.hub.plugins.slot("rules")?.primary.descriptor.version == "1.0.0")
        let audit = try ChildProcess.run(["audit", "--hub", h.baseURL])
        #expect(audit.stdout.contains("anonymous\tadmin\trollback\trules\t200"), "\(audit.stdout)")
    }

    @Test func aFailedStepUndoesTheSlotsAlreadySwitched() async throws {
        let s = try Setup()
        let refusing = try ComposeHarness.counter(s.directory, "v3", defines: [#"COUNTER_VERSION="3.0.0""#, "COUNTER_IMPORT_REFUSES"])
        func second(_ library: String) -> String { "  second:\n    kind: rules\n    library: \(library)" }
        let base = try ComposeHarness(directory: s.directory).manifest("one", rules: s.v1, extra: second(s.v1), pipeline: "[rules, second]")
        let h = try await ComposeHarness.start(base, directory: s.directory)
        defer { Task { await h.stop() } }
        for index in 0..<3 { _ = try await h.order("undo-\(index)") }
        // rules would go to v2 (fine), second to v3 (cannot take the state): neither changes.
        let failed = try await h.apply(try h.manifest("two", rules: s.v2, extra: second(refusing), pipeline: "[rules, second]"))
        #expect(failed.status == 409 && failed.text.contains("switched back"), "\(failed.text)")
        #expect(h.hub.plugins.slot("rules")?.primary.descriptor.version == "1.0.0")
        #expect(h.hub.plugins.slot("second")?.primary.descriptor.version == "1.0.0")
        // The count went to v2 and back to a fresh v1: the next order is the fourth, once.
        let id = try await h.order("undo-after")
        let events = (try await HTTP.send("GET", h.baseURL + "/v1/orders/\(id)/events").json as? [[String: Any]]) ?? []
        let tags = events.filter { $0["type"] as? String == "com.orderhub.rules.evaluated.v1" }.map { ($0["data"] as? [String: Any])?["tags"] as? [String] ?? [] }
        #expect(tags.count == 2 && tags.allSatisfy { Self.count($0) == 4 && Self.version($0) == "v1.0.0" }, "\(tags)")
        // Nothing to roll back to: the undone swap is not in the history.
        #expect(try await h.post("/v1/admin/slots/rules/rollback").status == 404)
    }

    @Test func canaryByOrderHashThenPromoteThenRollBack() async throws {
        let s = try Setup()
        let base = try ComposeHarness(directory: s.directory).manifest("one", rules: s.v1)
        let h = try await ComposeHarness.start(base, directory: s.directory)
        defer { Task { await h.stop() } }
        let canary = try h.manifest("canary", rules: s.v1, rulesExtra: """
                canary:
                  library: \(s.v2)
                  sha256: 0000000000000000000000000000000000000000000000000000000000000000
                  percent: 10
            """)
        let plan = try await h.apply(canary, dryRun: true)
        #expect(plan.text.contains("canary_start"), "\(plan.text)")
        let started = try await h.apply(canary)
        #expect(started.status == 200, "\(started.text)")
        var onCanary = 0
        var ids: [String] = []
        for index in 0..<300 {
            let id = try await h.order("canary-\(index)")
            ids.append(id)
            let version = Self.version(try await h.tags(id))
            if index < 40 {
                // The timeline says which orders the canary judged.
                let events = (try await HTTP.send("GET", h.baseURL + "/v1/orders/\(id)/events").json as? [[String: Any]]) ?? []
                let judged = events.first { $0["type"] as? String == "com.orderhub.rules.evaluated.v1" }?["data"] as? [String: Any]
                #expect((judged?["canary"] as? String) == (version == "v2.0.0" ? "test.counter 2.0.0" : nil), "\(judged ?? [:])")
            }
            // The order's hash decides, so it is the same version every time for this order.
            #expect(version == (LiveSlot.bucket(id) < 10 ? "v2.0.0" : "v1.0.0"), "order \(id) bucket \(LiveSlot.bucket(id)) got \(version ?? "?")")
            if version == "v2.0.0" { onCanary += 1 }
        }
        #expect((12...60).contains(onCanary), "\(onCanary) of 300 on a 10% canary")
        // Publishing rules while the canary runs is refused (both must judge by the same rules).
        let composition = try await HTTP.send("GET", h.baseURL + "/v1/admin/composition")
        #expect(composition.text.contains("\"percent\":10"), "\(composition.text)")
        let promoted = try await h.post("/v1/admin/slots/rules/promote")
        #expect(promoted.status == 200, "\(promoted.text)")
        let next = try await h.order("after-promote")
        let tags = try await h.tags(next)
        #expect(Self.version(tags) == "v2.0.0")
        // The promoted version counts on from both versions' orders: none lost, none twice.
        #expect(Self.count(tags) == 301, "\(tags)")
        let rolled = try await h.post("/v1/admin/slots/rules/rollback")
        #expect(rolled.status == 200, "\(rolled.text)")
        let last = try await h.tags(try await h.order("after-rollback"))
        #expect(Self.version(last) == "v1.0.0")
        #expect(Self.count(last) == 302, "\(last)")
        let none = try await h.post("/v1/admin/slots/rules/promote")
        #expect(none.status == 404 && none.text.contains("runs no canary"), "\(none.text)")
    }
}

extension String {
    /// This manifest with another bus file (the bus must not change live).
    func replacingBusPath() throws -> String {
        let text = try String(contentsOfFile: self, encoding: .utf8).replacingOccurrences(of: "data/hub.db", with: "data/other.db")
        try text.write(toFile: self, atomically: true, encoding: .utf8)
        return self
    }
}
