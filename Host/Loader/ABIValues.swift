import CHubABI

/// An order line as the host hands it to plugins.
public struct ItemFields: Sendable {
    public var sku: String
    public var category: String
    public var quantity: Int64
    public var unitPriceMinor: Int64
    public var presale: Bool
    public var noDiscount: Bool
    public var gift: Bool

    public init(sku: String, category: String, quantity: Int64, unitPriceMinor: Int64, presale: Bool, noDiscount: Bool, gift: Bool) {
        self.sku = sku
        self.category = category
        self.quantity = quantity
        self.unitPriceMinor = unitPriceMinor
        self.presale = presale
        self.noDiscount = noDiscount
        self.gift = gift
    }
}

/// An order as the host hands it to plugins (the Swift side of hub_order).
public struct OrderFields: Sendable {
    public var id = ""
    public var externalRef = ""
    public var channel = ""
    public var customerID = ""
    public var customerTier = ""
    public var currency = ""
    public var clientIP = ""
    public var shipCountry = ""
    public var shipRegion = ""
    public var shipPostal = ""
    public var paymentMethod = ""
    public var itemsTotalMinor: Int64 = 0
    public var shippingMinor: Int64 = 0
    public var createdUnixMillis: Int64 = 0
    public var promisedDays: Int64 = -1
    public var items: [ItemFields] = []
    public var json: [UInt8] = []
    /// ABI 1.1 `context_json`: what earlier pipeline steps found (predictions), as JSON.
    public var context: [UInt8] = []

    public init() {}
}

/// One event for the bus or a connector (the Swift side of hub_event).
public struct BusEvent: Sendable {
    public var id: String
    public var source: String
    public var type: String
    public var subject: String
    public var data: [UInt8]
    public var contentType: String
    public var producer: String
    public var timeUnixNanos: Int64
    public var sequence: UInt64
    public var state: String
    /// What a connector receives instead of `data` (the full instruction whose parts the log
    /// already holds elsewhere); never stored.
    public var delivery: [UInt8]? = nil

    public init(
        id: String, source: String, type: String, subject: String, data: [UInt8], contentType: String = "",
        producer: String, timeUnixNanos: Int64, sequence: UInt64, state: String = ""
    ) {
        self.id = id
        self.source = source
        self.type = type
        self.subject = subject
        self.data = data
        self.contentType = contentType
        self.producer = producer
        self.timeUnixNanos = timeUnixNanos
        self.sequence = sequence
        self.state = state
    }
}

/// An idempotency record appended with the events of the order it created.
public struct IdempotencyRecord: Sendable {
    public var key: String
    public var subject: String
    public var fingerprint: String
    public var response: [UInt8]

    public init(key: String, subject: String, fingerprint: String, response: [UInt8]) {
        self.key = key
        self.subject = subject
        self.fingerprint = fingerprint
        self.response = response
    }
}

extension Arena {
    func order(_ o: OrderFields) -> UnsafeMutablePointer<hub_order> {
        let items = o.items.map { item in
            var flags: UInt64 = 0
            if item.presale { flags |= UInt64(HUB_ITEM_PRESALE) }
            if item.gift { flags |= UInt64(HUB_ITEM_GIFT) }
            if item.noDiscount { flags |= UInt64(HUB_ITEM_NO_DISCOUNT) }
            return make(hub_order_item(
                struct_size: UInt32(MemoryLayout<hub_order_item>.size), reserved0: 0, sku: bytes(item.sku),
                category: bytes(item.category), quantity: item.quantity, unit_price_minor: item.unitPriceMinor, flags: flags))
        }
        return make(hub_order(
            struct_size: UInt32(MemoryLayout<hub_order>.size), reserved0: 0, id: bytes(o.id), external_ref: bytes(o.externalRef),
            channel: bytes(o.channel), customer_id: bytes(o.customerID), customer_tier: bytes(o.customerTier),
            currency: bytes(o.currency), client_ip: bytes(o.clientIP), ship_country: bytes(o.shipCountry),
            ship_region: bytes(o.shipRegion), ship_postal: bytes(o.shipPostal), payment_method: bytes(o.paymentMethod),
            items_total_minor: o.itemsTotalMinor, shipping_minor: o.shippingMinor, created_unix_ms: o.createdUnixMillis,
            promised_days: o.promisedDays, item_count: items.count, items: UnsafePointer(pointerArray(items)),
            json: bytes(o.json), context_json: bytes(o.context)))
    }

    func event(_ e: BusEvent) -> UnsafeMutablePointer<hub_event> {
        make(hub_event(
            struct_size: UInt32(MemoryLayout<hub_event>.size), reserved0: 0, id: bytes(e.id), source: bytes(e.source),
            type: bytes(e.type), subject: bytes(e.subject), data: bytes(e.data), datacontenttype: bytes(e.contentType),
            producer: bytes(e.producer), time_unix_ns: e.timeUnixNanos, sequence: e.sequence, state: bytes(e.state)))
    }

    func record(_ r: IdempotencyRecord) -> UnsafeMutablePointer<hub_idem_record> {
        make(hub_idem_record(
            struct_size: UInt32(MemoryLayout<hub_idem_record>.size), reserved0: 0, key: bytes(r.key),
            subject: bytes(r.subject), fingerprint: bytes(r.fingerprint), response: bytes(r.response)))
    }
}

extension hub_bytes {
    var string: String {
        guard let ptr, len > 0 else { return "" }
        return String(decoding: UnsafeBufferPointer(start: ptr, count: len), as: UTF8.self)
    }
    var array: [UInt8] {
        guard let ptr, len > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: ptr, count: len))
    }
}
