import HubJSON
import HubLoader
import Synchronization

/// Orders a predictor flagged for a person (quadrants act and critical), with what to do and
/// similar past orders, newest first: `GET /v1/predictions/suggestions`. Kept in memory for
/// the last `capacity` suggestions since the hub started; each is also on its order's timeline.
public final class SuggestionBoard: Sendable {
    struct Entry: Sendable {
        let orderID: String
        let slot: String
        let timeUnixNanos: Int64
        let prediction: JSONValue
    }

    private let entries = Mutex<[Entry]>([])
    private let capacity = 1_000

    func add(orderID: String, slot: String, prediction: JSONValue) {
        entries.withLock { all in
            all.append(Entry(orderID: orderID, slot: slot, timeUnixNanos: Clock.wallNanos(), prediction: prediction))
            if all.count > capacity { all.removeFirst(all.count - capacity) }
        }
    }

    /// `{"suggestions": [{order_id, predictor, time, model, version, score, quadrant, suggestion}]}`.
    public func document(limit: Int) -> [UInt8] {
        let recent = entries.withLock { Array($0.suffix(max(0, limit)).reversed()) }
        var writer = JSONWriter()
        writer.object { o in
            o.array("suggestions") { a in
                for entry in recent {
                    a.object { e in
                        e.field("order_id", entry.orderID)
                        e.field("predictor", entry.slot)
                        e.field("time", Timestamp.rfc3339(unixNanos: entry.timeUnixNanos))
                        for key in ["model", "version", "score", "quadrant", "suggestion"] {
                            if let value = entry.prediction[key] { e.field(key, value) }
                        }
                    }
                }
            }
        }
        return writer.bytes
    }
}
