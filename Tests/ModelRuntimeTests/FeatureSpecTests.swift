import HubModelRuntime
import Testing

/// The feature specification: one implementation for training (`orderhub features`) and
/// serving, so its rules are pinned here.
@Suite struct FeatureSpecTests {
    static let spec = """
        {"version": 1, "utc_offset_minutes": -180, "features": [
          {"name": "log_total", "field": "items_price_total", "transform": "log1p"},
          {"name": "freight_ratio", "ratio": ["freight_total", "items_price_total"]},
          {"name": "weekend", "field": "purchase_dow", "transform": "weekend"},
          {"name": "n_items", "field": "n_items"},
          {"name": "state", "field": "customer_state", "categories": ["SP", "RJ"]}]}
        """

    @Test func computesEveryKindOfFeature() throws {
        let spec = try FeatureSpec(json: Self.spec)
        #expect(spec.names == ["log_total", "freight_ratio", "weekend", "n_items", "state"])
        #expect(spec.utcOffsetMinutes == -180)
        let record = ["items_price_total": "99", "freight_total": "25", "purchase_dow": "6", "n_items": "2", "customer_state": "RJ"]
        let row = spec.vector { record[$0] }
        #expect(abs(row[0] - 4.605170185988092) < 1e-12)
        #expect(row[1] == 25.0 / 99.0)
        #expect(row[2] == 1)
        #expect(row[3] == 2)
        #expect(row[4] == 1)
    }

    @Test func missingAndUnknownAreNaN() throws {
        let spec = try FeatureSpec(json: Self.spec)
        let row = spec.vector { ["items_price_total": "0", "customer_state": "AM", "n_items": "two"][$0] }
        #expect(row[0] == 0)
        #expect(row[1].isNaN, "ratio with a missing numerator")
        #expect(row[2].isNaN)
        #expect(row[3].isNaN, "unparsable number")
        #expect(row[4].isNaN, "category not seen in training")
    }

    @Test func refusesABadSpec() {
        for (text, message) in [
            (#"{"version": 2, "features": []}"#, "'version' must be 1"),
            (#"{"version": 1, "features": [{"name": "x"}]}"#, "give 'field', or 'ratio'"),
            (#"{"version": 1, "features": [{"name": "x", "field": "a", "transform": "cube"}]}"#, "transform 'cube' is not one of"),
        ] {
            do {
                _ = try FeatureSpec(json: text)
                Issue.record("accepted \(text)")
            } catch {
                #expect(error.description.contains(message), "\(error.description)")
            }
        }
    }
}
