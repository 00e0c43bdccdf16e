import Foundation
import Testing

/// Seed rulesets named in the manifest: live at start, their tables found by rulesets sent
/// over HTTP, and a seed whose table alone changed becomes a new version at the next start.
@Suite struct RulesSeedTests {
    @Test func seedsGoLiveAndPostedRulesetsFindTheirTables() async throws {
        let folder = Products.tempDirectory("seeds")
        try FileManager.default.createDirectory(atPath: folder + "/tables", withIntermediateDirectories: true)
        let source = Products.repository + "/manifests/rules/"
        for file in ["checkout.rules.yaml", "tables/presale_skus.csv", "tables/carbon_factors.csv"] {
            try FileManager.default.copyItem(atPath: source + file, toPath: folder + "/" + file)
        }
        let seeded = "  engine:\n    kind: rules\n    library: \(try Products.library("RulesEngine"))\n"
            + "    config: {rulesets: [\(folder)/checkout.rules.yaml]}\n"
        let h = try await HubHarness.start(extra: seeded, pipeline: "[engine]")
        defer { Task { await h.stop() } }
        let list = try await HTTP.send("GET", h.baseURL + "/v1/rulesets").json as? [[String: Any]]
        #expect(list?.first?["ruleset"] as? String == "checkout")
        #expect(list?.first?["live"] as? Int == 1)
        let judged = try await RulesEngineTests.order(h.baseURL, "seeded", price: "300.00")
        #expect(RulesEngineTests.rulesAnswer(judged)["discount_minor"] as? Int == 5000)

        let text = try String(contentsOfFile: folder + "/checkout.rules.yaml", encoding: .utf8)
        let edited = text.replacingOccurrences(of: "get 50 off", with: "get 50.00 off")
        let posted = try await RulesEngineTests.post(h.baseURL, "/v1/rulesets", edited, type: "application/yaml")
        #expect(posted.status == 201, "\(posted.text)")

        // Only a table changes: at the next start the seed is published as a new version.
        try "sku,release_date\nSKU-1,2027-01-01\n".write(toFile: folder + "/tables/presale_skus.csv", atomically: true, encoding: .utf8)
        try await h.restart()
        let after = try await HTTP.send("GET", h.baseURL + "/v1/rulesets").json as? [[String: Any]]
        #expect(after?.first?["live"] as? Int == 3, "\(String(describing: after))")
        let presaleNow = try await RulesEngineTests.order(h.baseURL, "sku-1-is-presale", price: "300.00")
        #expect(RulesEngineTests.rulesAnswer(presaleNow)["discount_minor"] as? Int == 0, "SKU-1 is now a presale SKU")
    }
}
