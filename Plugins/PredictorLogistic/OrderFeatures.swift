import HubPluginKit

#if canImport(Glibc)
import Glibc
#endif

/// Order features a model may use, computed the same way as scripts/train_late_delivery.py
/// computes them from orders-train.csv. nil means "unknown": the model uses its mean.
enum OrderFeatures {
    static let names = [
        "log_items_total", "n_items", "log_freight", "freight_ratio", "purchase_hour", "weekend", "promised_days",
    ]

    /// `utcOffsetMinutes`: the model's local time (Olist's timestamps are Brazil local, UTC-3),
    /// so an hour of day means at serving what it meant in training.
    static func value(_ name: String, of order: OrderView, utcOffsetMinutes: Int64 = 0) -> Double? {
        let localMillis = order.createdUnixMillis + utcOffsetMinutes * 60_000
        let total = Double(order.itemsTotalMinor) / 100
        let freight = Double(order.shippingMinor) / 100
        switch name {
        case "log_items_total": return log1p(total)
        case "n_items": return Double(order.items.reduce(Int64(0)) { $0 + $1.quantity })
        case "log_freight": return log1p(freight)
        case "freight_ratio": return total > 0 ? freight / total : nil
        case "purchase_hour": return Double(((localMillis / 3_600_000) % 24 + 24) % 24)
        case "weekend":
            // 1970-01-01 was a Thursday (Mon=0 -> Thursday=3).
            let dayOfWeek = ((localMillis / 86_400_000 + 3) % 7 + 7) % 7
            return dayOfWeek >= 5 ? 1 : 0
        case "promised_days": return order.promisedDays.map(Double.init)
        default: return nil
        }
    }
}
