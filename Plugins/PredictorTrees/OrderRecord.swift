import HubPluginKit

/// The record fields a feature spec may name, computed from an order with the definitions of
/// orders-train.csv's columns (shared/data/README.md), so a model trained on that file reads
/// an order the way it read its training rows.
enum OrderRecord {
    static func fields(of order: OrderView, utcOffsetMinutes: Int) -> [String: String] {
        let items = order.items
        let local = order.createdUnixMillis + Int64(utcOffsetMinutes) * 60_000
        let hour = ((local / 3_600_000) % 24 + 24) % 24
        let dayOfWeek = ((local / 86_400_000 + 3) % 7 + 7) % 7  // 1970-01-01 was a Thursday; Mon=0
        let priciest = items.max { $0.unitPriceMinor < $1.unitPriceMinor }
        var record: [String: String] = [
            "items_price_total": money(order.itemsTotalMinor),
            "freight_total": money(order.shippingMinor),
            "n_items": String(items.reduce(Int64(0)) { $0 + $1.quantity }),
            "n_products": String(Set(items.map(\.sku)).count),
            "purchase_hour": String(hour),
            "purchase_dow": String(dayOfWeek),
            "payment_type": order.paymentMethod,
            "customer_state": order.shipRegion,
        ]
        if let priciest {
            record["item_price_max"] = money(priciest.unitPriceMinor)
            if !priciest.category.isEmpty { record["primary_category"] = priciest.category }
        }
        if let days = order.promisedDays { record["estimated_delivery_days"] = String(days) }
        let digits = order.shipPostal.filter(\.isNumber)
        if digits.count >= 3 { record["customer_zip3"] = String(digits.prefix(3)) }
        return record.filter { !$0.value.isEmpty }
    }

    private static func money(_ minor: Int64) -> String { String(Double(minor) / 100) }
}
