import CHubABI

/// Borrowed bytes from the host, valid only during the call that passed them.
public struct BytesView: @unchecked Sendable {  // valid only inside the ABI call; never stored
    public let raw: UnsafeRawBufferPointer

    init(_ bytes: hub_bytes) {
        raw = UnsafeRawBufferPointer(start: bytes.ptr, count: bytes.len)
    }
    public var string: String { String(decoding: raw, as: UTF8.self) }
    public var array: [UInt8] { Array(raw) }
    public var isEmpty: Bool { raw.isEmpty }
}

/// An order as the host parsed it, borrowed for the duration of one call.
public struct OrderView: @unchecked Sendable {  // wraps a pointer valid only inside the ABI call
    let order: UnsafePointer<hub_order>

    init(_ order: UnsafePointer<hub_order>) { self.order = order }

    public var id: String { BytesView(order.pointee.id).string }
    public var externalRef: String { BytesView(order.pointee.external_ref).string }
    public var channel: String { BytesView(order.pointee.channel).string }
    public var customerID: String { BytesView(order.pointee.customer_id).string }
    public var customerTier: String { BytesView(order.pointee.customer_tier).string }
    public var currency: String { BytesView(order.pointee.currency).string }
    public var clientIP: String { BytesView(order.pointee.client_ip).string }
    public var shipCountry: String { BytesView(order.pointee.ship_country).string }
    public var shipRegion: String { BytesView(order.pointee.ship_region).string }
    public var shipPostal: String { BytesView(order.pointee.ship_postal).string }
    public var paymentMethod: String { BytesView(order.pointee.payment_method).string }
    public var itemsTotalMinor: Int64 { order.pointee.items_total_minor }
    public var shippingMinor: Int64 { order.pointee.shipping_minor }
    public var createdUnixMillis: Int64 { order.pointee.created_unix_ms }
    /// Promised delivery in days, nil when the channel did not say.
    public var promisedDays: Int64? { order.pointee.promised_days < 0 ? nil : order.pointee.promised_days }
    /// The whole order as canonical JSON.
    public var json: BytesView { BytesView(order.pointee.json) }
    /// ABI 1.1: what the hub knows beside the order ({"predictions": {...}}); empty from a 1.0 host.
    public var context: BytesView {
        let end = MemoryLayout<hub_order>.offset(of: \hub_order.context_json)! + MemoryLayout<hub_bytes>.size
        guard Int(order.pointee.struct_size) >= end else { return BytesView(hub_bytes(ptr: nil, len: 0)) }
        return BytesView(order.pointee.context_json)
    }

    public var items: [ItemView] {
        guard let items = order.pointee.items else { return [] }
        return (0..<order.pointee.item_count).compactMap { index in items[index].map(ItemView.init) }
    }
}

/// One order line, borrowed for the duration of one call.
public struct ItemView: @unchecked Sendable {  // wraps a pointer valid only inside the ABI call
    let item: UnsafePointer<hub_order_item>

    public var sku: String { BytesView(item.pointee.sku).string }
    public var category: String { BytesView(item.pointee.category).string }
    public var quantity: Int64 { item.pointee.quantity }
    public var unitPriceMinor: Int64 { item.pointee.unit_price_minor }
    public var lineTotalMinor: Int64 { item.pointee.quantity &* item.pointee.unit_price_minor }
    public var isPresale: Bool { item.pointee.flags & UInt64(HUB_ITEM_PRESALE) != 0 }
    public var isGift: Bool { item.pointee.flags & UInt64(HUB_ITEM_GIFT) != 0 }
    public var excludedFromDiscounts: Bool { item.pointee.flags & UInt64(HUB_ITEM_NO_DISCOUNT) != 0 }
}

/// An event, borrowed for the duration of one call.
public struct EventView: @unchecked Sendable {  // wraps a pointer valid only inside the ABI call
    let event: UnsafePointer<hub_event>

    init(_ event: UnsafePointer<hub_event>) { self.event = event }

    public var id: BytesView { BytesView(event.pointee.id) }
    public var source: BytesView { BytesView(event.pointee.source) }
    public var type: BytesView { BytesView(event.pointee.type) }
    public var subject: BytesView { BytesView(event.pointee.subject) }
    public var data: BytesView { BytesView(event.pointee.data) }
    public var dataContentType: BytesView { BytesView(event.pointee.datacontenttype) }
    public var producer: BytesView { BytesView(event.pointee.producer) }
    public var state: BytesView { BytesView(event.pointee.state) }
    public var timeUnixNanos: Int64 { event.pointee.time_unix_ns }
    public var sequence: UInt64 { event.pointee.sequence }
}

/// An idempotency record, borrowed for the duration of one append call.
public struct IdempotencyRecordView: @unchecked Sendable {  // wraps a pointer valid only inside the ABI call
    let record: UnsafePointer<hub_idem_record>

    public var key: BytesView { BytesView(record.pointee.key) }
    public var subject: BytesView { BytesView(record.pointee.subject) }
    public var fingerprint: BytesView { BytesView(record.pointee.fingerprint) }
    public var response: BytesView { BytesView(record.pointee.response) }
}
