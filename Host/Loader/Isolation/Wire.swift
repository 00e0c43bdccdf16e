/// The byte format between the hub and a plugin worker process (`isolation: process`):
/// little-endian integers and length-prefixed bytes, in a fixed order per message. Both ends
/// are this same code, so no schema travels.
struct WireWriter {
    private(set) var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    mutating func i32(_ v: Int32) { u32(UInt32(bitPattern: v)) }
    mutating func bool(_ v: Bool) { u8(v ? 1 : 0) }
    mutating func data(_ v: [UInt8]) {
        u32(UInt32(v.count))
        bytes.append(contentsOf: v)
    }
    mutating func string(_ v: String) { data(Array(v.utf8)) }

    mutating func order(_ o: OrderFields) {
        for text in [o.id, o.externalRef, o.channel, o.customerID, o.customerTier, o.currency, o.clientIP, o.shipCountry, o.shipRegion,
                     o.shipPostal, o.paymentMethod] { string(text) }
        for number in [o.itemsTotalMinor, o.shippingMinor, o.createdUnixMillis, o.promisedDays] { i64(number) }
        u32(UInt32(o.items.count))
        for item in o.items {
            string(item.sku)
            string(item.category)
            i64(item.quantity)
            i64(item.unitPriceMinor)
            bool(item.presale)
            bool(item.noDiscount)
            bool(item.gift)
        }
        data(o.json)
        data(o.context)
    }

    mutating func event(_ e: BusEvent) {
        for text in [e.id, e.source, e.type, e.subject, e.contentType, e.producer, e.state] { string(text) }
        data(e.data)
        i64(e.timeUnixNanos)
        u64(e.sequence)
    }

    mutating func descriptor(_ d: PluginDescriptor) {
        string(d.id)
        string(d.version)
        u32(d.kind.rawValue)
        u32(d.kindAPIVersion)
        u32(d.threading.rawValue)
        u32(UInt32(d.abiMajor))
        u32(UInt32(d.abiMinor))
        u64(d.capabilities)
        u32(d.structSize)
    }
}

struct WireError: Error, CustomStringConvertible {
    let description: String
}

struct WireReader {
    let bytes: [UInt8]
    private var at = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    private mutating func take(_ n: Int) throws(WireError) -> ArraySlice<UInt8> {
        guard n >= 0, at + n <= bytes.count else { throw WireError(description: "message from the worker ends early (byte \(at) of \(bytes.count))") }
        defer { at += n }
        return bytes[at..<at + n]
    }

    mutating func u8() throws(WireError) -> UInt8 { try take(1).first! }
    mutating func u32() throws(WireError) -> UInt32 {
        try take(4).reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }
    mutating func u64() throws(WireError) -> UInt64 {
        try take(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }
    mutating func i64() throws(WireError) -> Int64 { Int64(bitPattern: try u64()) }
    mutating func i32() throws(WireError) -> Int32 { Int32(bitPattern: try u32()) }
    mutating func bool() throws(WireError) -> Bool { try u8() != 0 }
    mutating func data() throws(WireError) -> [UInt8] { Array(try take(Int(try u32()))) }
    mutating func string() throws(WireError) -> String { String(decoding: try data(), as: UTF8.self) }

    mutating func order() throws(WireError) -> OrderFields {
        var o = OrderFields()
        o.id = try string()
        o.externalRef = try string()
        o.channel = try string()
        o.customerID = try string()
        o.customerTier = try string()
        o.currency = try string()
        o.clientIP = try string()
        o.shipCountry = try string()
        o.shipRegion = try string()
        o.shipPostal = try string()
        o.paymentMethod = try string()
        o.itemsTotalMinor = try i64()
        o.shippingMinor = try i64()
        o.createdUnixMillis = try i64()
        o.promisedDays = try i64()
        let count = try u32()
        guard count <= 100_000 else { throw WireError(description: "an order with \(count) items") }
        for _ in 0..<count {
            o.items.append(ItemFields(sku: try string(), category: try string(), quantity: try i64(), unitPriceMinor: try i64(),
                                      presale: try bool(), noDiscount: try bool(), gift: try bool()))
        }
        o.json = try data()
        o.context = try data()
        return o
    }

    mutating func event() throws(WireError) -> BusEvent {
        let id = try string(), source = try string(), type = try string(), subject = try string()
        let contentType = try string(), producer = try string(), state = try string()
        return BusEvent(id: id, source: source, type: type, subject: subject, data: try data(), contentType: contentType,
                        producer: producer, timeUnixNanos: try i64(), sequence: try u64(), state: state)
    }

    mutating func descriptor() throws(WireError) -> PluginDescriptor {
        let id = try string(), version = try string()
        guard let kind = PluginDescriptor.Kind(rawValue: try u32()) else { throw WireError(description: "unknown plugin kind") }
        let kindAPI = try u32()
        guard let threading = PluginDescriptor.Threading(rawValue: try u32()) else { throw WireError(description: "unknown threading model") }
        return PluginDescriptor(id: id, version: version, kind: kind, kindAPIVersion: kindAPI, threading: threading,
                                abiMajor: UInt16(try u32()), abiMinor: UInt16(try u32()), capabilities: try u64(), structSize: try u32())
    }
}

/// Message kinds on the worker socket. Every frame is u32 length, u8 kind, u64 id, payload.
enum Frame: UInt8 {
    /// Hub → worker: call a plugin function (payload: u8 method, arguments).
    case call = 1
    /// Worker → hub: the answer to a call (payload: i32 status, string message, results).
    case reply = 2
    /// Worker → hub: the plugin called a host service (payload: u8 service, arguments).
    case service = 3
    /// Hub → worker: the service's answer.
    case serviceReply = 4
}

/// Plugin functions a worker serves.
enum Method: UInt8 {
    case create = 1, evaluate, score, deliver, inbound, queryStatus, control, health, quiesce, exportState, importState, onEvent, destroy
}

/// Host services a worker's plugin may call (the rest, log/config/clock/timers/metrics, are
/// served inside the worker).
enum Service: UInt8 {
    case publish = 1, subscribe, unsubscribe, kvGet, kvPut
}
