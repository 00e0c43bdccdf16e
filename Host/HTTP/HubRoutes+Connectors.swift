import HTTPTypes
import HubCore
import HubJSON
import HubLoader
import Hummingbird

/// Connector endpoints: status callbacks in, reconciliation on demand, dead letters and
/// their replay, and the fulfilment health board.
extension HubRoutes {
    static func addConnectorRoutes(_ router: Router<HubRequestContext>, _ hub: Hub) {
        router.post("/v1/connectors/:slot/events") { request, context in await callback(hub, request, context) }
        router.post("/v1/connectors/:slot/reconcile") { request, context in await reconcile(hub, request, context) }
        router.get("/v1/connectors") { _, _ in connectors(hub) }
        router.get("/v1/dispatch/dead-letters") { request, _ in await deadLetters(hub, connector: request.uri.queryParameters.get("connector")) }
        router.post("/v1/dispatch/dead-letters/:event/replay") { request, context in await replay(hub, request, context) }
        router.get("/v1/health/fulfillment") { _, _ in
            let body = hub.health.json()
            let level = (try? JSONParser.parse(body))?["level"]?.stringValue
            return APIResponse.json(level == "red" ? .serviceUnavailable : .ok, body)
        }
    }

    static func callback(_ hub: Hub, _ request: Request, _ context: HubRequestContext) async -> Response {
        let slot = context.parameters.get("slot") ?? ""
        guard let body = await readBody(request) else {
            return APIResponse.error(.contentTooLarge, "body_too_large", "a callback may be at most \(maxBodyBytes) bytes")
        }
        let callback: CallbackIntake.Callback
        switch CloudEventRequest.parse(request, body: body) {
        case .success(let parsed): callback = parsed
        case .failure(.unsupportedFormat(let message)): return APIResponse.error(.unsupportedMediaType, "unsupported_media_type", message)
        case .failure(.invalid(let field, let message)):
            return APIResponse.error(.badRequest, "invalid_cloudevent", "\(field): \(message)", problems: [FieldProblem(field: field, message: message)])
        }
        switch await hub.callbacks.receive(slot: slot, callback) {
        case .accepted(let order, let state, let applied):
            return APIResponse.json(.accepted, object([("order_id", .string(order)), ("state", .string(state)), ("applied", .bool(applied))]))
        case .duplicate(let order):
            return APIResponse.json(.accepted, object([("order_id", .string(order)), ("duplicate", .bool(true))]))
        case .denied(let message): return APIResponse.error(.unauthorized, "bad_signature", message)
        case .invalid(let message): return APIResponse.error(.badRequest, "invalid_callback", message)
        case .unknownConnector(let message): return APIResponse.error(.notFound, "unknown_connector", message)
        case .orderNotFound(let message): return APIResponse.error(.notFound, "order_not_found", message)
        case .overloaded:
            return APIResponse.error(.tooManyRequests, "overloaded", "too many callbacks in flight; retry after the given seconds",
                                     headers: [.retryAfter: "1"])
        case .unavailable(let message): return APIResponse.error(.serviceUnavailable, "unavailable", message, headers: [.retryAfter: "1"])
        }
    }

    static func reconcile(_ hub: Hub, _ request: Request, _ context: HubRequestContext) async -> Response {
        let slot = context.parameters.get("slot") ?? ""
        guard let reconciler = hub.reconciler(slot) else {
            return APIResponse.error(.notFound, "unknown_connector", "no connector '\(slot)' that can be asked for order status")
        }
        let staleText = request.uri.queryParameters.get("stale_after_ms")
        let stale = staleText.flatMap { Int($0) }
        if let staleText, stale == nil || !(0...2_592_000_000).contains(stale!) {
            return APIResponse.error(.badRequest, "invalid_stale_after_ms", "stale_after_ms must be a whole number of milliseconds from 0 to 2592000000 (30 days), not '\(staleText)'",
                                     problems: [FieldProblem(field: "query:stale_after_ms", message: "expected an integer 0...2592000000")])
        }
        let round = await BlockingLane.run { reconciler.runRound(staleAfterMillis: stale) }
        return APIResponse.json(.ok, object([
            ("connector", .string(slot)), ("checked", number(round.checked)), ("consistent", number(round.consistent)),
            ("repaired", number(round.repaired)), ("drift", number(round.drift)), ("errors", number(round.errors)),
        ]))
    }

    static func connectors(_ hub: Hub) -> Response {
        var writer = JSONWriter()
        writer.object { o in
            o.array("connectors") { a in
                for spec in hub.manifest.connectors {
                    guard let instance = hub.plugins.instance(spec.slot) else { continue }
                    let dispatcher = hub.dispatcher(spec.slot)
                    a.object { c in
                        c.field("slot", spec.slot)
                        c.field("plugin", "\(instance.descriptor.id) \(instance.descriptor.version)")
                        c.field("subscribes", .array(spec.subscribes.map { .string($0) }))
                        c.field("backlog", dispatcher?.backlog ?? 0)
                        c.field("circuit", dispatcher?.circuit.phase ?? "closed")
                        c.field("circuit_opened", dispatcher?.circuit.opened ?? 0)
                        c.field("dead_letters", (try? dispatcher?.deadLetters.list().count) ?? 0)
                        c.field("callbacks", instance.acceptsCallbacks ? "/v1/connectors/\(spec.slot)/events" : "")
                        c.field("reconciles", hub.reconciler(spec.slot) != nil)
                    }
                }
            }
        }
        return APIResponse.json(.ok, writer.bytes)
    }

    static func deadLetters(_ hub: Hub, connector: String?) async -> Response {
        let chosen = hub.dispatchers.filter { connector == nil || $0.connector.slot == connector }
        if let connector, chosen.isEmpty { return APIResponse.error(.notFound, "unknown_connector", "no connector '\(connector)' dispatching in this hub") }
        let result = await BlockingLane.run { () -> Result<[DeadLetters.Entry], PluginCallError> in
            Result { () throws(PluginCallError) in
                var all: [DeadLetters.Entry] = []
                for dispatcher in chosen { all += try dispatcher.deadLetters.list() }
                return all
            }
        }
        switch result {
        case .success(let entries):
            return APIResponse.json(.ok, object([("dead_letters", .array(entries.map(DeadLetters.json)))]))
        case .failure(let error):
            return APIResponse.error(.serviceUnavailable, "unavailable", "the state bus could not answer: \(error.message)", headers: [.retryAfter: "1"])
        }
    }

    static func replay(_ hub: Hub, _ request: Request, _ context: HubRequestContext) async -> Response {
        let event = context.parameters.get("event") ?? ""
        let connector = request.uri.queryParameters.get("connector")
        let chosen = hub.dispatchers.filter { connector == nil || $0.connector.slot == connector }
        let outcome = await BlockingLane.run { () -> Result<String, Dispatcher.ReplayError> in
            var last: Result<String, Dispatcher.ReplayError> = .failure(.notFound(event))
            for dispatcher in chosen {
                last = dispatcher.replay(event, actor: context.actor)
                if case .failure(.notFound) = last { continue }
                return last
            }
            return last
        }
        switch outcome {
        case .success(let state): return APIResponse.json(.accepted, object([("event_id", .string(event)), ("state", .string(state)), ("replayed", .bool(true))]))
        case .failure(.notFound(let id)): return APIResponse.error(.notFound, "not_found", "no dead letter with event id '\(id)'")
        case .failure(.refused(let why)): return APIResponse.error(.conflict, "refused", why)
        case .failure(.unavailable(let why)): return APIResponse.error(.serviceUnavailable, "unavailable", why, headers: [.retryAfter: "1"])
        }
    }

    private static func object(_ members: [(String, JSONValue)]) -> [UInt8] {
        var writer = JSONWriter()
        writer.value(.object(members.map { (key: $0.0, value: $0.1) }))
        return writer.bytes
    }

    private static func number(_ n: Int) -> JSONValue { .number(String(n)) }
}
