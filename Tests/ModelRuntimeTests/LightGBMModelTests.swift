import Foundation
import HubModelRuntime
import Testing

/// The Swift LightGBM scorer against LightGBM itself: Fixtures/ were written by
/// scripts/make_lightgbm_vectors.py with lightgbm 4.7.0 (model text + its own predictions),
/// including rows with missing values, unseen and negative categories, and extreme values.
/// The files scripts/make_*_vectors.py wrote with the real libraries.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func text(_ name: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
    }

    /// A CSV of numbers without its header; an empty cell is NaN.
    static func rows(_ name: String) throws -> [[Double]] {
        try text(name).split(whereSeparator: \.isNewline).dropFirst().map { $0.split(separator: ",").map { Double($0) ?? .nan } }
    }
}

@Suite struct LightGBMModelTests {
    @Test func scoresExactlyAsLightGBMDoes() throws {
        let model = try LightGBMModel(text: Fixtures.text("lightgbm_late.txt"))
        #expect(model.objective == .binary(sigmoid: 1))
        #expect(model.featureNames.count == 10)
        let rows = try Fixtures.rows("lightgbm_late_vectors.csv")
        #expect(rows.count == 315)
        var worstRaw = 0.0
        var worstProbability = 0.0
        for values in rows {
            let features = Array(values.prefix(10))
            worstRaw = max(worstRaw, abs(model.rawScore(features) - values[10]))
            worstProbability = max(worstProbability, abs(model.predict(features) - values[11]))
        }
        #expect(worstRaw <= 1e-6, "largest raw-score difference \(worstRaw)")
        #expect(worstProbability <= 1e-6, "largest probability difference \(worstProbability)")
    }

    @Test func refusesWhatItCannotScoreWithTheLine() {
        for (text, message) in [
            ("not a model", "line 1: not a LightGBM text model"),
            ("tree\nversion=v4\n\nTree=0\nnum_leaves=2\n", "feature_names is missing"),
            ("tree\nfeature_names=a b\n\nTree=0\nnum_leaves=2\nleaf_value=1 2\nsplit_feature=5\nthreshold=1\ndecision_type=2\nleft_child=-1\nright_child=-2\n",
             "line 4: split_feature names a feature outside 0..<2"),
            ("tree\nfeature_names=a\n\nTree=0\nnum_leaves=2\nleaf_value=1 x\n", "line 4: leaf_value: 'x' is not a number"),
            ("tree\nfeature_names=a\nnum_tree_per_iteration=3\n", "multiclass models are not supported yet"),
        ] {
            do {
                _ = try LightGBMModel(text: text)
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.description.contains(message), "\(error.description)")
            }
        }
    }
}

/// The Swift XGBoost scorer against XGBoost itself (Fixtures/ from scripts/make_xgboost_vectors.py,
/// xgboost 3.2.0: native categorical splits, missing values, edge cases).
@Suite struct XGBoostModelTests {
    @Test func scoresExactlyAsXGBoostDoes() throws {
        let model = try XGBoostModel(json: Fixtures.text("xgboost_late.json"))
        #expect(model.objective == "binary:logistic")
        #expect(model.featureNames.count == 10)
        let rows = try Fixtures.rows("xgboost_late_vectors.csv")
        #expect(rows.count == 315)
        var worstMargin = 0.0
        var worstProbability = 0.0
        for values in rows {
            let features = Array(values.prefix(10))
            worstMargin = max(worstMargin, abs(model.margin(features) - values[10]))
            worstProbability = max(worstProbability, abs(model.predict(features) - values[11]))
        }
        #expect(worstMargin <= 1e-6, "largest margin difference \(worstMargin)")
        #expect(worstProbability <= 1e-6, "largest probability difference \(worstProbability)")
    }

    @Test func refusesWhatItCannotScore() {
        for (text, message) in [
            ("{", "not valid JSON"), ("{}", "not an XGBoost JSON model"),
            (#"{"learner":{"objective":{"name":"multi:softprob"}}}"#, "objective 'multi:softprob' is not supported"),
            (#"{"learner":{"objective":{"name":"binary:logistic"},"gradient_booster":{"model":{"trees":[]}}}}"#, "trees is missing"),
        ] {
            do {
                _ = try XGBoostModel(json: text)
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.description.contains(message), "\(error.description)")
            }
        }
    }
}

/// Explanations: TreeSHAP contributions equal LightGBM's `pred_contrib` and sum to the raw score.
@Suite struct TreeSHAPTests {
    @Test func contributionsMatchLightGBM() throws {
        let model = try LightGBMModel(text: Fixtures.text("lightgbm_late.txt"))
        let rows = try Fixtures.rows("lightgbm_late_vectors.csv")
        let expected = try Fixtures.rows("lightgbm_late_contrib.csv")
        #expect(rows.count == expected.count)
        var worst = 0.0
        var worstSum = 0.0
        for (row, reference) in zip(rows, expected) {
            let features = Array(row.prefix(10))
            let phi = try #require(model.contributions(features))
            worst = max(worst, zip(phi, reference).map { abs($0 - $1) }.max() ?? 0)
            worstSum = max(worstSum, abs(phi.reduce(0, +) - model.rawScore(features)))
        }
        #expect(worst <= 1e-6, "largest contribution difference \(worst)")
        #expect(worstSum <= 1e-9, "contributions must add up to the raw score (off by \(worstSum))")
    }
}
