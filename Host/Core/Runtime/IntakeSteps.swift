import HubJSON
import HubLoader
import Synchronization

/// The intake pipeline for one order, as a list of timeline events: received, accepted,
/// one event per pipeline plugin, then hold or release, then the dispatch request.
struct IntakeSteps: Sendable {
    let order: OrderFields
    let key: String
    let service: OrderService

    /// Predictions that carry a suggestion for a person (slot, prediction), posted once durable.
    final class Flagged: Sendable {
        private let list = Mutex<[(slot: String, prediction: JSONValue)]>([])
        var items: [(slot: String, prediction: JSONValue)] { list.withLock { $0 } }
        func add(_ slot: String, _ prediction: JSONValue) { list.withLock { $0.append((slot, prediction)) } }
    }
    let flagged = Flagged()

    func run() -> [BusEvent] {
        var events = [
            event(EventTypes.received, producer: "host", state: OrderState.received.rawValue, data: order.json),
            event(EventTypes.accepted, producer: "host", state: OrderState.accepted.rawValue, data: accepted()),
        ]
        var hold: (type: String, reason: String)?
        var discount: Int64 = 0
        var risk: [UInt8] = Array("null".utf8)
        var riskScore: JSONValue?
        // What predictors found, handed to later rules (ABI 1.1 context_json) so rules can act on scores.
        var predictions: [(key: String, value: JSONValue)] = []
        var decisions: [JSONValue] = []
        for plugin in service.pipeline {
            let started = Clock.monotonicNanos()
            let isRules = plugin.kind == .rules
            do throws(PluginCallError) {
                // Each plugin sees only the order fields the manifest grants it.
                let grant = plugin.grant
                let seen = grant.map { $0.apply(to: order) } ?? order
                let input = isRules ? withContext(predictions, seen) : seen
                var canaryServed: String?
                var result = try plugin.use(order: order.id) { (instance, canary) throws(PluginCallError) -> [UInt8] in
                    if canary { canaryServed = "\(instance.descriptor.id) \(instance.descriptor.version)" }
                    return isRules ? try instance.evaluate(input) : try instance.score(input)
                }
                service.metrics.stage(isRules ? "rules" : "predictor", seconds: service.elapsed(since: started))
                // A plugin's answer goes into the log as JSON: check it is JSON before it does.
                guard let parsed = try? JSONParser.parse(result), parsed.objectValue != nil else {
                    throw PluginCallError(plugin: plugin.slot, call: isRules ? "evaluate" : "score", status: 7,
                                          message: "answer is not a JSON object: \(String(decoding: result.prefix(120), as: UTF8.self))")
                }
                if let canaryServed, let members = parsed.objectValue {
                    // While a canary runs, the timeline says which orders the new version judged.
                    var tagged = JSONWriter(capacity: result.count + 64)
                    tagged.value(.object([("canary", .string(canaryServed))] + members))
                    result = tagged.bytes
                }
                events.append(event(isRules ? EventTypes.rulesEvaluated : EventTypes.riskScored, producer: plugin.slot, data: result))
                if isRules {
                    discount += parsed["discount_minor"]?.intValue ?? 0
                    decisions.append(parsed)
                    if hold == nil, let h = parsed["hold"], h != .null {
                        hold = (h["type"]?.stringValue ?? "rule", h["reason"]?.stringValue ?? "held by \(plugin.slot)")
                    }
                } else {
                    risk = result
                    riskScore = parsed["score"]
                    predictions.append((plugin.slot, .object(["model", "version", "score", "quadrant", "high_impact"].compactMap { key in
                        parsed[key].map { (key: key, value: $0) }
                    })))
                    if parsed["suggestion"] != nil { flagged.add(plugin.slot, parsed) }
                }
            } catch {
                // Fail closed: a pipeline plugin that cannot decide holds the order for a person.
                service.metrics.pluginError()
                var data = JSONWriter()
                data.object { o in
                    o.field("plugin", plugin.slot)
                    o.field("call", error.call)
                    o.field("status", error.statusName)
                    o.field("error", error.message)
                }
                events.append(event(EventTypes.pluginFailed, producer: "host", data: data.bytes))
                if hold == nil { hold = ("system", "\(plugin.slot) failed: \(error.message)") }
            }
        }
        if let hold {
            events.append(statusChange(to: .onHold, from: .accepted, reason: hold.reason, holdType: hold.type))
        } else {
            events.append(statusChange(to: .released, from: .accepted, reason: "no hold", holdType: nil))
            // Several rules plugins never discount more than may be discounted together (the
            // same cap DispatchInstruction applies when it rebuilds from the timeline).
            discount = min(discount, DispatchInstruction.discountableMinor(order))
            if service.dispatchEnabled {
                events.append(dispatchRequest(discount: discount, risk: risk, riskScore: riskScore,
                                              fulfillment: DispatchInstruction.fulfillment(from: decisions)))
            }
        }
        return events
    }

    /// Kept on the timeline so a later dispatch (after a hold) carries the client's key too.
    func accepted() -> [UInt8] {
        var data = JSONWriter()
        data.object { o in
            o.field("validated", true)
            o.field("idempotency_key", key)
        }
        return data.bytes
    }

    func event(_ type: String, producer: String, state: String = "", data: [UInt8]) -> BusEvent {
        BusEvent(id: "", source: "/orderhub/\(producer)", type: type, subject: order.id, data: data,
                 producer: producer, timeUnixNanos: Clock.wallNanos(), sequence: 0, state: state)
    }

    func statusChange(to: OrderState, from: OrderState, reason: String, holdType: String?) -> BusEvent {
        var data = JSONWriter()
        data.object { o in
            o.field("from", from.rawValue)
            o.field("to", to.rawValue)
            o.field("reason", reason)
            if let holdType { o.field("hold_type", holdType) }
        }
        return event(EventTypes.statusChanged, producer: "host", state: to.rawValue, data: data.bytes)
    }

    /// The order with what earlier steps found, for a rules plugin (empty context when none).
    func withContext(_ predictions: [(key: String, value: JSONValue)], _ order: OrderFields) -> OrderFields {
        guard !predictions.isEmpty else { return order }
        var copy = order
        var writer = JSONWriter(capacity: 128)
        writer.object { o in o.field("predictions", .object(predictions)) }
        copy.context = writer.bytes
        return copy
    }

    func dispatchRequest(discount: Int64, risk: [UInt8], riskScore: JSONValue?, fulfillment: JSONValue?) -> BusEvent {
        let instruction = DispatchInstruction(orderID: order.id, idempotencyKey: .string(key), discountMinor: discount,
                                              risk: risk, order: order.json, riskScore: riskScore, fulfillment: fulfillment)
        // Stable id = the WMS's idempotency key, the same on every retry and after a restart.
        return instruction.event(id: "\(order.id).dispatch", producer: "host")
    }
}
