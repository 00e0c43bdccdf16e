import HubJSON
import HubLoader

/// What a connector receives for a dispatch request, and the slimmer record the log keeps.
///
/// The log already holds the order (`order.received`) and its risk (`risk.scored`), so the
/// `dispatch.requested` event stores references and figures only; the full instruction is
/// assembled in memory for delivery, and rebuilt from the timeline after a restart. This
/// halves the bytes written per order.
struct DispatchInstruction {
    let orderID: String
    let idempotencyKey: JSONValue
    let discountMinor: Int64
    /// The predictor's JSON answer (raw), or "null".
    let risk: [UInt8]
    /// The order as received (canonical JSON).
    let order: [UInt8]
    /// The predictor's probability, when known (kept in the log's slim record).
    let riskScore: JSONValue?
    /// What the rules decided for fulfilment (route, split, gifts, fields, shipping, tags), or nil.
    let fulfillment: JSONValue?

    /// What discounts may take of an order: its lines not marked `no_discount`.
    static func discountableMinor(_ order: OrderFields) -> Int64 {
        order.items.reduce(Int64(0)) { $0 + ($1.noDiscount ? 0 : $1.quantity &* $1.unitPriceMinor) }
    }

    /// The same from the order as recorded (canonical JSON: unit_price is "129.90" or 129.9).
    static func discountableMinor(_ order: JSONValue) -> Int64 {
        (order["items"]?.arrayValue ?? []).reduce(Int64(0)) { total, item in
            guard item["no_discount"]?.boolValue != true, let quantity = item["quantity"]?.intValue,
                  let price = Money.minorUnits(item["unit_price"]) else { return total }
            return total + quantity &* price
        }
    }

    /// The fulfilment decisions out of the rules answers (first answer wins each part).
    static func fulfillment(from answers: [JSONValue]) -> JSONValue? {
        var parts: [(key: String, value: JSONValue)] = []
        for key in ["route", "fulfillments", "gifts", "fields", "shipping", "tags"] {
            for answer in answers {
                guard let value = answer[key], !Self.isEmpty(value) else { continue }
                parts.append((key, value))
                break
            }
        }
        return parts.isEmpty ? nil : .object(parts)
    }

    private static func isEmpty(_ value: JSONValue) -> Bool {
        switch value {
        case .null: return true
        case .array(let a): return a.isEmpty
        case .object(let o): return o.isEmpty
        default: return false
        }
    }

    /// The event data kept in the log.
    var stored: [UInt8] {
        var writer = JSONWriter()
        writer.object { o in
            o.field("order_id", orderID)
            o.field("idempotency_key", idempotencyKey)
            o.field("discount_minor", discountMinor)
            if let riskScore { o.field("risk_score", riskScore) }
            o.field("order_event", "\(orderID).1")
        }
        return writer.bytes
    }

    /// The instruction a connector sends on (see docs/connectors.md).
    var payload: [UInt8] {
        var writer = JSONWriter(capacity: order.count + risk.count + 128)
        writer.object { o in
            o.field("order_id", orderID)
            o.field("idempotency_key", idempotencyKey)
            o.field("discount_minor", discountMinor)
            o.rawField("risk", risk)
            if let fulfillment { o.field("fulfillment", fulfillment) }
            o.rawField("order", order)
        }
        return writer.bytes
    }

    /// Rebuilds the instruction from an order's timeline (CloudEvents, as the bus returns them).
    init?(orderID: String, timeline: [JSONValue]) {
        func data(of type: String) -> [JSONValue] { timeline.filter { $0["type"]?.stringValue == type }.compactMap { $0["data"] } }
        guard let order = data(of: EventTypes.received).first else { return nil }
        var orderWriter = JSONWriter()
        orderWriter.value(order)
        var riskWriter = JSONWriter()
        let risk = data(of: EventTypes.riskScored).last
        riskWriter.value(risk ?? .null)
        self.init(
            orderID: orderID, idempotencyKey: data(of: EventTypes.accepted).first?["idempotency_key"] ?? .null,
            discountMinor: min(data(of: EventTypes.rulesEvaluated).reduce(Int64(0)) { $0 + ($1["discount_minor"]?.intValue ?? 0) },
                               Self.discountableMinor(order)),
            risk: riskWriter.bytes, order: orderWriter.bytes, riskScore: risk?["score"],
            fulfillment: Self.fulfillment(from: data(of: EventTypes.rulesEvaluated)))
    }

    init(orderID: String, idempotencyKey: JSONValue, discountMinor: Int64, risk: [UInt8], order: [UInt8], riskScore: JSONValue?,
         fulfillment: JSONValue?) {
        self.fulfillment = fulfillment
        self.orderID = orderID
        self.idempotencyKey = idempotencyKey
        self.discountMinor = discountMinor
        self.risk = risk
        self.order = order
        self.riskScore = riskScore
    }

    /// The `dispatch.requested` event: slim data for the log, full payload for delivery.
    func event(id: String, producer: String) -> BusEvent {
        var event = BusEvent(id: id, source: "/orderhub/\(producer)", type: EventTypes.dispatchRequested, subject: orderID,
                             data: stored, producer: producer, timeUnixNanos: Clock.wallNanos(), sequence: 0,
                             state: OrderState.dispatched.rawValue)
        event.delivery = payload
        return event
    }

    /// The full instruction of a recorded dispatch request, rebuilt from the order's timeline
    /// (the log keeps only its slim record); nil when the timeline cannot be read.
    static func delivery(order id: String, bus: PluginInstance) -> [UInt8]? {
        guard let events = try? bus.timeline(id), let list = try? JSONParser.parse(events).arrayValue,
              let instruction = DispatchInstruction(orderID: id, timeline: list) else { return nil }
        return instruction.payload
    }
}
