import HubModelRuntime
import Testing

/// Path attribution, the cheap explanation every order gets: its contributions add up to
/// the raw score exactly (like TreeSHAP's), and it names the same leading feature as
/// TreeSHAP on most rows.
@Suite struct PathContributionsTests {
    @Test func addsUpToTheRawScoreOnEveryFixtureRow() throws {
        let model = try LightGBMModel(text: Fixtures.text("lightgbm_late.txt"))
        let rows = try Fixtures.rows("lightgbm_late_vectors.csv")
        var sameTop = 0
        for row in rows {
            let features = Array(row.prefix(model.featureNames.count))
            let path = try #require(model.pathContributions(features))
            #expect(abs(path.reduce(0, +) - model.rawScore(features)) < 1e-9)
            let shap = try #require(model.contributions(features))
            let top = { (phi: [Double]) in phi.dropLast().indices.max { abs(phi[$0]) < abs(phi[$1]) } }
            if top(path) == top(shap) { sameTop += 1 }
            // Both share the base value: the training mean of the trees' output.
            #expect(abs(path.last! - shap.last!) < 1e-9)
        }
        #expect(Double(sameTop) / Double(rows.count) > 0.5, "\(sameTop) of \(rows.count) rows share the top feature")
    }
}

/// XGBoost's own path attribution (`approx_contribs=True`), written by
/// scripts/make_xgboost_contrib_vectors.py with xgboost 3.2.0: the Swift runtime agrees.
@Suite struct XGBoostPathContributionsTests {
    @Test func matchesXGBoostApproxContribs() throws {
        let model = try XGBoostModel(json: Fixtures.text("xgboost_late.json"))
        let rows = try Fixtures.rows("xgboost_late_vectors.csv")
        let expected = try Fixtures.rows("xgboost_late_contrib_approx.csv")
        #expect(rows.count == expected.count)
        var worst = 0.0
        for (row, want) in zip(rows, expected) {
            let features = Array(row.prefix(model.featureNames.count))
            let got = try #require(model.pathContributions(features))
            #expect(got.count == want.count)
            for (a, b) in zip(got, want) { worst = max(worst, abs(a - b)) }
            #expect(abs(got.reduce(0, +) - model.margin(features)) < 1e-4)
        }
        #expect(worst <= 1e-6, "largest difference from XGBoost: \(worst)")
    }
}
