import HTTPTypes
import HubCore
import HubJSON
import Hummingbird

/// Checks the bearer token of every request against the route's permission (401 without a
/// known token, 403 for the wrong role) and records every state-changing admin or operator
/// call, allowed or refused, in the audit log. Composition changes (/v1/admin) record
/// their own entries, with the composition before and after.
struct AccessMiddleware: RouterMiddleware {
    typealias Context = HubRequestContext
    let hub: Hub

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = "/" + request.uri.path.split(separator: "/").joined(separator: "/")
        let permission = Self.permission(request.method, path)
        switch hub.access.decide(authorization: request.headers[.authorization], permission) {
        case .unauthenticated(let message):
            return APIResponse.error(.unauthorized, "unauthenticated", message, headers: [.wwwAuthenticate: "Bearer realm=\"orderhub\""])
        case .forbidden(let principal, let message):
            if Self.audited(request.method, permission) {
                await record(principal, request, path, status: 403)
            }
            return APIResponse.error(.forbidden, "forbidden", message)
        case .allowed(let principal):
            var context = context
            context.principal = principal
            let response = try await next(request, context)
            if Self.audited(request.method, permission) && !path.hasPrefix("/v1/admin/") {
                await record(principal, request, path, status: Int(response.status.code))
            }
            return response
        }
    }

    private func record(_ principal: AccessControl.Principal, _ request: Request, _ path: String, status: Int) async {
        let entry = AuditLog.Entry(actor: principal.name, role: principal.role.rawValue, action: "\(request.method.rawValue) \(path)",
                                   target: Self.target(path), status: status)
        let audit = hub.audit
        _ = await BlockingLane.run { audit.record(entry) }
    }

    static func audited(_ method: HTTPRequest.Method, _ permission: AccessControl.Permission) -> Bool {
        method != .get && (permission == .operate || permission == .administer)
    }

    /// The part of the path an action is about: `/v1/rulesets/promo/publish` → `promo`.
    static func target(_ path: String) -> String {
        let parts = path.split(separator: "/").map(String.init)
        return parts.count >= 3 ? parts[2] : ""
    }

    /// What each route needs (docs/operations.md, "Tokens and roles"). Only the listed routes
    /// are open; any other GET needs a reading role and any other change operator or admin.
    static func permission(_ method: HTTPRequest.Method, _ raw: String) -> AccessControl.Permission {
        // Decided on the path the router matches: it skips empty segments, so `//v1/admin/x`
        // and `/v1/audit/` are the routes they reach, and are judged as those.
        let parts = raw.split(separator: "/").map(String.init)
        let path = "/" + parts.joined(separator: "/")
        if ["/metrics", "/openapi.yaml", "/v1/health", "/v1/lifecycle"].contains(path) || path.hasPrefix("/v1/health/") { return .open }
        if method == .post, parts.count == 4, parts[0] == "v1", parts[1] == "connectors", parts[3] == "events" { return .callback(slot: parts[2]) }
        if path.hasPrefix("/v1/admin/") { return method == .get ? .read : .administer }
        if path == "/v1/audit" { return .operate }
        if method == .post && (path == "/v1/orders" || (parts.count == 4 && parts[1] == "orders" && parts[3] == "transitions")) { return .submit }
        if method == .get || method == .head { return .read }
        return .operate
    }
}

extension HTTPField.Name {
    static let wwwAuthenticate = HTTPField.Name("WWW-Authenticate")!
}
