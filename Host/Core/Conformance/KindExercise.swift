import Dispatch
import HubJSON
import HubLoader
import Synchronization

/// Calls a plugin's kind functions with sample input and checks what comes back.
enum KindExercise {
    typealias Result = PluginConformance.Result

    static func run(_ instance: PluginInstance, deliver: Bool) -> [Result] {
        switch instance.descriptor.kind {
        case .rules, .predictor: return orderCalls(instance)
        case .connector:
            return [deliver ? delivery(instance) : Result(name: "deliver", passed: true, detail: "skipped (pass --deliver to send a sample dispatch to the configured endpoint)"),
                    unsignedCallback(instance)]
        case .stateBus: return bus(instance)
        }
    }

    static var sampleOrder: OrderFields {
        var order = OrderFields()
        order.id = "ord_CHECK0000000000000000000001"
        order.externalRef = "CHECK-1"
        order.channel = "web"
        order.customerID = "c-check"
        order.currency = "BRL"
        order.shipCountry = "BR"
        order.paymentMethod = "credit_card"
        order.items = [
            ItemFields(sku: "SKU-A", category: "toys", quantity: 2, unitPriceMinor: 12_990, presale: false, noDiscount: false, gift: false),
            ItemFields(sku: "SKU-B", category: "", quantity: 1, unitPriceMinor: 8_900, presale: true, noDiscount: false, gift: false),
        ]
        order.itemsTotalMinor = 34_880
        order.shippingMinor = 1_500
        order.createdUnixMillis = 1_795_639_135_000
        order.promisedDays = 12
        // The whole order as a connector's templates see it (docs/connectors.md, the instruction's `order`).
        order.json = Array("""
            {"id":"ord_CHECK0000000000000000000001","external_ref":"CHECK-1","channel":"web","currency":"BRL",\
            "customer":{"id":"c-check","tier":"gold"},"items":[{"sku":"SKU-A","quantity":2,"unit_price":"129.90","category":"toys"},\
            {"sku":"SKU-B","quantity":1,"unit_price":"89.00","presale":true}],"ship_to":{"country":"BR","region":"SP","postal_code":"01001-000"},\
            "payment":{"method":"credit_card"},"shipping":{"fee":"15.00","promised_days":12},"created_at":"2026-11-25T20:15:00Z"}
            """.utf8)
        return order
    }

    static func orderCalls(_ instance: PluginInstance) -> [Result] {
        let isRules = instance.descriptor.kind == .rules
        let name = isRules ? "evaluate" : "score"
        let order = sampleOrder
        let call: @Sendable () throws(PluginCallError) -> [UInt8] = { () throws(PluginCallError) in
            isRules ? try instance.evaluate(order) : try instance.score(order)
        }
        var results: [Result] = []
        do {
            let answer = try call()
            let parsed = try? JSONParser.parse(answer)
            let shapeOK: Bool
            let detail: String
            if isRules {
                shapeOK = parsed?["fired"]?.arrayValue != nil && (parsed?["hold"] != nil)
                detail = "answers {\"fired\": [...], \"hold\": ...}: \(String(decoding: answer.prefix(120), as: UTF8.self))"
            } else {
                let score = parsed?["score"]?.doubleValue ?? -1
                shapeOK = (0...1).contains(score)
                detail = "score \(score) in [0, 1]"
            }
            results.append(Result(name: name, passed: parsed?.objectValue != nil && shapeOK, detail: detail))
        } catch {
            results.append(Result(name: name, passed: false, detail: error.description))
            return results
        }
        if instance.descriptor.threading == .threadSafe { results.append(concurrent(name, call)) }
        return results
    }

    /// A thread-safe plugin must answer the same from 4 threads at once.
    static func concurrent(_ name: String, _ call: @escaping @Sendable () throws(PluginCallError) -> [UInt8]) -> Result {
        let failures = Mutex<[String]>([])
        let reference = (try? call()) ?? []
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<500 {
                do throws(PluginCallError) {
                    if try call() != reference { failures.withLock { $0.append("different answer for the same order") } }
                } catch {
                    failures.withLock { $0.append(error.description) }
                }
            }
        }
        let found = failures.withLock { $0 }
        return Result(name: "\(name) from 4 threads", passed: found.isEmpty, detail: found.first ?? "2,000 calls, same answer each time")
    }

    /// ABI 1.2 `inbound`: a callback without a signature must be refused (DENIED), or the
    /// connector must say it takes no callbacks (INVALID); accepting it would let anyone move orders.
    static func unsignedCallback(_ instance: PluginInstance) -> Result {
        let name = "unsigned callback refused"
        guard instance.acceptsCallbacks else { return Result(name: name, passed: true, detail: "skipped (the connector takes no callbacks: ABI 1.2 inbound is NULL)") }
        let body = Array(#"{"reference_id":"ord_CHECK","status":"shipped","id":"ord_CHECK"}"#.utf8)
        let event = BusEvent(id: "check-1", source: "/check", type: "com.example.status.v1", subject: "", data: body, producer: "check",
                             timeUnixNanos: 0, sequence: 0)
        do {
            let answer = try instance.inbound(event, requestJSON: Array(#"{"headers":{}}"#.utf8), rawBody: body)
            return Result(name: name, passed: false, detail: "accepted an unsigned callback: \(String(decoding: answer.prefix(120), as: UTF8.self))")
        } catch {
            let ok = error.status == 10 || error.status == 1
            return Result(name: name, passed: ok, detail: ok ? "\(error.statusName): \(error.message)" : error.description)
        }
    }

    static func delivery(_ instance: PluginInstance) -> Result {
        // The same instruction the hub sends for a real order (see DispatchInstruction).
        let order = sampleOrder
        let instruction = DispatchInstruction(orderID: order.id, idempotencyKey: .string("plugin-check"), discountMinor: 0,
                                              risk: Array("null".utf8), order: order.json, riskScore: nil, fulfillment: nil)
        var event = instruction.event(id: "\(order.id).dispatch", producer: "check")
        event.data = instruction.payload
        do {
            let ack = try instance.deliver(event)
            return Result(name: "deliver", passed: true, detail: "acknowledged: \(String(decoding: ack.prefix(120), as: UTF8.self))")
        } catch {
            return Result(name: "deliver", passed: false, detail: error.description)
        }
    }

    /// A bus must keep what it acknowledges, in order, and refuse a sequence gap.
    static func bus(_ instance: PluginInstance) -> [Result] {
        let subject = "ord_CHECK_\(Clock.wallNanos())"
        func event(_ sequence: UInt64, _ state: String) -> BusEvent {
            BusEvent(id: "\(subject).\(sequence)", source: "/orderhub/check", type: "com.orderhub.check.v1", subject: subject,
                     data: Array(#"{"n":\#(sequence)}"#.utf8), producer: "check", timeUnixNanos: Clock.wallNanos(), sequence: sequence, state: state)
        }
        do {
            _ = try instance.append([event(1, "received"), event(2, "accepted")])
            let state = try instance.orderState(subject)
            let timeline = try instance.timeline(subject).flatMap { try? JSONParser.parse($0).arrayValue } ?? []
            let gapRefused = (try? instance.append([event(5, "")])) == nil
            let kvKey = "check-\(subject)"
            let revision = try instance.kvPut(namespace: "check", key: kvKey, value: Array("1".utf8), expectedRevision: 0)
            let casRefused = (try? instance.kvPut(namespace: "check", key: kvKey, value: [], expectedRevision: 0)) == nil
            return [
                Result(name: "append + order_state", passed: state?.state == "accepted" && state?.sequence == 2, detail: "state \(state?.state ?? "none"), sequence \(state?.sequence ?? 0)"),
                Result(name: "timeline", passed: timeline.count == 2 && timeline.allSatisfy { $0["specversion"]?.stringValue == "1.0" }, detail: "\(timeline.count) CloudEvents"),
                Result(name: "sequence gap refused", passed: gapRefused, detail: gapRefused ? "HUB_CONFLICT" : "a gap was accepted"),
                Result(name: "kv compare-and-set", passed: revision == 1 && casRefused, detail: "revision \(revision), stale write refused: \(casRefused)"),
            ]
        } catch {
            return [Result(name: "bus round trip", passed: false, detail: error.description)]
        }
    }
}
