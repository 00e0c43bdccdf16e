import Foundation
import HTTPTypes
import HubCore
import HubJSON
import HubLoader
import Hummingbird
import NIOCore

/// The hub's HTTP API (spec: openapi.yaml, served at /openapi.yaml).
public enum HubRoutes {
    public static let maxBodyBytes = 1 << 20

    public static func router(hub: Hub) -> Router<HubRequestContext> {
        let router = Router(context: HubRequestContext.self)
        router.middlewares.add(AccessMiddleware(hub: hub))
        router.post("/v1/orders") { request, _ in await submit(hub, request) }
        router.get("/v1/orders/:id") { _, context in await busRead { () async throws(PluginCallError) in try await order(hub, context) } }
        router.get("/v1/orders/:id/events") { _, context in await busRead { () async throws(PluginCallError) in try await events(hub, context) } }
        router.get("/v1/orders/:id/transitions") { _, context in await busRead { () async throws(PluginCallError) in try await transitions(hub, context) } }
        router.post("/v1/orders/:id/transitions") { request, context in await transition(hub, request, context) }
        router.get("/v1/plugins") { _, _ in await BlockingLane.run { plugins(hub) } }
        router.get("/v1/predictions/suggestions") { request, _ in
            let limit = request.uri.queryParameters.get("limit").flatMap { Int($0) } ?? 100
            guard (1...1_000).contains(limit) else {
                return APIResponse.error(.badRequest, "invalid_limit", "limit must be 1-1000",
                                         problems: [FieldProblem(field: "query:limit", message: "expected 1-1000")])
            }
            return APIResponse.json(.ok, hub.orders.suggestions.document(limit: limit))
        }
        addRulesetRoutes(router, hub)
        addConnectorRoutes(router, hub)
        addAdminRoutes(router, hub)
        router.get("/v1/lifecycle") { _, _ in lifecycle() }
        router.get("/v1/health") { _, _ in await BlockingLane.run { health(hub) } }
        router.get("/metrics") { _, _ in
            APIResponse.text(.ok, hub.metrics.registry.render(), contentType: "text/plain; version=0.0.4")
        }
        router.get("/openapi.yaml") { _, _ in
            APIResponse.text(.ok, OpenAPIDocument.text, contentType: "application/yaml")
        }
        return router
    }

    /// The body, or nil when it is larger than `maxBodyBytes` (or the client went away).
    static func readBody(_ request: Request) async -> [UInt8]? {
        var request = request
        guard let buffer = try? await request.collectBody(upTo: maxBodyBytes) else { return nil }
        return Array(buffer.readableBytesView)
    }

    /// A state bus that cannot answer is the server's problem, said as 503 with a reason.
    static func busRead(_ body: () async throws(PluginCallError) -> Response) async -> Response {
        do {
            return try await body()
        } catch {
            return APIResponse.error(.serviceUnavailable, "unavailable", "the state bus could not answer: \(error.message)",
                                     headers: [.retryAfter: "1"])
        }
    }

    static func isJSON(_ request: Request) -> Bool {
        guard let type = request.headers[.contentType] else { return true }
        return type.lowercased().hasPrefix("application/json")
    }

    static func submit(_ hub: Hub, _ request: Request) async -> Response {
        guard let key = request.headers[.idempotencyKey], !key.isEmpty, key.utf8.count <= 255 else {
            return APIResponse.error(.badRequest, "idempotency_key_required",
                                     "header Idempotency-Key is required (1-255 characters); send the same key when you retry",
                                     problems: [FieldProblem(field: "header:Idempotency-Key", message: "required")])
        }
        guard isJSON(request) else {
            return APIResponse.error(.unsupportedMediaType, "unsupported_media_type", "send the order as application/json")
        }
        guard let body = await readBody(request) else {
            return APIResponse.error(.contentTooLarge, "body_too_large", "an order body may be at most \(maxBodyBytes) bytes")
        }
        switch await hub.orders.submit(body: body, idempotencyKey: key) {
        case .created(let id, _, let response):
            return APIResponse.json(.created, response, headers: [.location: "/v1/orders/\(id)"])
        case .replayed(let response):
            return APIResponse.json(.created, response, headers: [.idempotentReplayed: "true"])
        case .conflict(let message):
            return APIResponse.error(.conflict, "idempotency_conflict", message)
        case .invalid(let problems):
            return APIResponse.error(.unprocessableContent, "invalid_order",
                                     "the order has \(problems.count) problem(s): " + problems.map(\.description).joined(separator: "; "),
                                     problems: problems)
        case .unavailable(let message):
            return APIResponse.error(.serviceUnavailable, "unavailable", message, headers: [.retryAfter: "1"])
        }
    }

    static func orderID(_ context: HubRequestContext) -> String { context.parameters.get("id") ?? "" }

    static func notFound(_ id: String) -> Response {
        APIResponse.error(.notFound, "order_not_found", "no order with id '\(id)'")
    }

    static func order(_ hub: Hub, _ context: HubRequestContext) async throws(PluginCallError) -> Response {
        let id = orderID(context)
        guard let document = try await hub.orders.orderDocument(id) else { return notFound(id) }
        return APIResponse.json(.ok, document)
    }

    static func events(_ hub: Hub, _ context: HubRequestContext) async throws(PluginCallError) -> Response {
        let id = orderID(context)
        guard let events = try await hub.orders.cloudEvents(id) else { return notFound(id) }
        return APIResponse.json(.ok, events).with(contentType: "application/cloudevents-batch+json")
    }

    static func transitions(_ hub: Hub, _ context: HubRequestContext) async throws(PluginCallError) -> Response {
        let id = orderID(context)
        guard let (state, allowed) = try await hub.orders.allowedTransitions(id) else { return notFound(id) }
        var writer = JSONWriter()
        writer.object { o in
            o.field("id", id)
            o.field("state", state)
            o.array("allowed") { a in
                for t in allowed {
                    a.object { e in
                        e.field("to", t.to.rawValue)
                        e.field("meaning", t.meaning)
                    }
                }
            }
        }
        return APIResponse.json(.ok, writer.bytes)
    }

    static func transition(_ hub: Hub, _ request: Request, _ context: HubRequestContext) async -> Response {
        let id = orderID(context)
        guard isJSON(request) else { return APIResponse.error(.unsupportedMediaType, "unsupported_media_type", "send application/json") }
        guard let body = await readBody(request) else { return APIResponse.error(.contentTooLarge, "body_too_large", "body too large") }
        guard let json = try? JSONParser.parse(body), json.objectValue != nil else {
            return APIResponse.error(.badRequest, "invalid_json", "expected a JSON object {\"to\": \"released\", \"reason\": \"...\"}")
        }
        guard let to = json["to"]?.stringValue else {
            return APIResponse.error(.unprocessableContent, "invalid_transition", "'to' must be a state name such as \"released\"",
                                     problems: [FieldProblem(field: "to", message: json["to"] == nil ? "required, the target state" : "expected a string")])
        }
        let reason = json["reason"]?.stringValue ?? ""
        // Holds, releases and rejections are an operator's decisions; a client may cancel.
        if to != OrderState.canceled.rawValue, let principal = context.principal, !principal.may(.operate) {
            await auditRelease(hub, principal, id, to: to, status: 403, reason: reason)
            return APIResponse.error(.forbidden, "forbidden", "moving an order to '\(to)' needs operator or admin (a client may cancel); '\(principal.name)' is \(principal.role.rawValue)")
        }
        let outcome = await hub.orders.transition(id, to: to, reason: reason, actor: context.actor)
        if let principal = context.principal {
            // A person's decision on an order: in the audit log too, not only on the timeline.
            let status: Int
            switch outcome {
            case .done: status = 200
            case .notFound: status = 404
            case .refused: status = 409
            case .invalid: status = 422
            case .unavailable: status = 503
            }
            await auditRelease(hub, principal, id, to: to, status: status, reason: reason)
        }
        switch outcome {
        case .done(let state, let sequence):
            return APIResponse.json(.ok, Array(#"{"id":"\#(id)","state":"\#(state)","sequence":\#(sequence)}"#.utf8))
        case .notFound: return notFound(id)
        case .refused(let from, let allowed):
            return APIResponse.error(.conflict, "transition_not_allowed",
                                     "order \(id) is \(from); '\(to)' is not allowed from there (allowed: \(allowed.isEmpty ? "none, terminal state" : allowed.joined(separator: ", ")))")
        case .invalid(let problem):
            return APIResponse.error(.unprocessableContent, "invalid_transition", problem.description, problems: [problem])
        case .unavailable(let message):
            return APIResponse.error(.serviceUnavailable, "unavailable", message, headers: [.retryAfter: "1"])
        }
    }
}

extension HubRoutes {
    static func auditRelease(_ hub: Hub, _ principal: AccessControl.Principal, _ id: String, to: String, status: Int, reason: String) async {
        let action = to == OrderState.released.rawValue ? "release" : "transition to \(to)"
        let entry = AuditLog.Entry(actor: principal.name, role: principal.role.rawValue, action: action, target: id, status: status,
                                   detail: .object([("reason", .string(reason))]))
        let audit = hub.audit
        _ = await BlockingLane.run { audit.record(entry) }
    }
}

extension Response {
    func with(contentType: String) -> Response {
        var copy = self
        copy.headers[.contentType] = contentType
        return copy
    }
}
