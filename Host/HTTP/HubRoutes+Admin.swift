import HTTPTypes
import HubCore
import HubJSON
import HubLoader
import Hummingbird

/// The composition endpoints (`orderhub apply`, canary, rollback) and the audit log.
/// Every change is recorded in the audit log with the composition before and after.
extension HubRoutes {
    static func addAdminRoutes(_ router: Router<HubRequestContext>, _ hub: Hub) {
        router.get("/v1/admin/composition") { _, _ in
            var writer = JSONWriter()
            writer.value(hub.compositionSummary)
            return APIResponse.json(.ok, writer.bytes)
        }
        router.post("/v1/admin/apply") { request, context in await apply(hub, request, context) }
        router.post("/v1/admin/slots/:slot/promote") { _, context in
            await compose(hub, context, "promote") { slot throws(Composer.Failure) in try hub.composer.promote(slot) }
        }
        router.post("/v1/admin/slots/:slot/canary-rollback") { _, context in
            await compose(hub, context, "canary-rollback") { slot throws(Composer.Failure) in try hub.composer.rollBackCanary(slot) }
        }
        router.post("/v1/admin/slots/:slot/rollback") { _, context in
            await compose(hub, context, "rollback") { slot throws(Composer.Failure) in try hub.composer.rollBack(slot) }
        }
        router.get("/v1/audit") { request, _ in await auditEntries(hub, request) }
    }

    /// Body: {"manifest": "/path/on/the/hub.yaml", "dry_run": true|false}. The manifest is read
    /// on the hub's machine (its libraries are dlopen'd there).
    static func apply(_ hub: Hub, _ request: Request, _ context: HubRequestContext) async -> Response {
        guard isJSON(request) else { return APIResponse.error(.unsupportedMediaType, "unsupported_media_type", "send application/json") }
        guard let body = await readBody(request) else { return APIResponse.error(.contentTooLarge, "body_too_large", "body too large") }
        guard let json = try? JSONParser.parse(body), json.objectValue != nil else {
            return APIResponse.error(.badRequest, "invalid_json", "expected {\"manifest\": \"/path/to/hub.yaml\", \"dry_run\": true}")
        }
        guard let path = json["manifest"]?.stringValue, !path.isEmpty else {
            return APIResponse.error(.unprocessableContent, "invalid_request", "manifest: required, the manifest's path on the hub's machine",
                                     problems: [FieldProblem(field: "manifest", message: "required")])
        }
        let dryRun = json["dry_run"]?.boolValue ?? false
        let next: Manifest
        do { next = try ManifestParser.load(path: path) } catch {
            return APIResponse.error(.unprocessableContent, "invalid_manifest", "\(error.problems.count) problem(s) in \(path):\n\(error.description)",
                                     problems: error.problems.map { FieldProblem(field: $0.position.description, message: $0.message) })
        }
        let composer = hub.composer
        if dryRun {
            let plan = await BlockingLane.run { composer.plan(next) }
            return planResponse(plan, status: plan.canApply ? .ok : .conflict)
        }
        let before = hub.compositionSummary
        let outcome = await BlockingLane.run { () -> Result<Composer.Report, Composer.Failure> in
            Result { () throws(Composer.Failure) in try composer.apply(next) }
        }
        return await finish(hub, context, action: "apply", target: path, before: before, outcome)
    }

    static func compose(_ hub: Hub, _ context: HubRequestContext, _ action: String,
                        _ body: @escaping @Sendable (String) throws(Composer.Failure) -> Composer.Report) async -> Response {
        let slot = context.parameters.get("slot") ?? ""
        let before = hub.compositionSummary
        let outcome = await BlockingLane.run { () -> Result<Composer.Report, Composer.Failure> in
            Result { () throws(Composer.Failure) in try body(slot) }
        }
        return await finish(hub, context, action: action, target: slot, before: before, outcome)
    }

    /// Answers a composition change and records it (with before and after) in the audit log.
    static func finish(_ hub: Hub, _ context: HubRequestContext, action: String, target: String, before: JSONValue,
                       _ outcome: Result<Composer.Report, Composer.Failure>) async -> Response {
        let principal = context.principal ?? AccessControl.anonymous
        let response: Response
        let status: Int
        var after: JSONValue?
        var detail: JSONValue?
        switch outcome {
        case .success(let report):
            after = hub.compositionSummary
            var members = report.json.objectValue ?? []
            members.append(("before", before))
            members.append(("after", after!))
            var writer = JSONWriter()
            writer.value(.object(members))
            response = APIResponse.json(.ok, writer.bytes)
            status = 200
            detail = .object([("changes", report.plan.json["changes"] ?? .array([])), ("switch_ms", report.json["switch_ms"] ?? .null)])
        case .failure(.refused(let plan)):
            response = planResponse(plan, status: .conflict)
            status = 409
            detail = plan.json["refused"]
        case .failure(.notFound(let message)):
            response = APIResponse.error(.notFound, "not_found", message)
            status = 404
            detail = .string(message)
        case .failure(.failed(let message)):
            response = APIResponse.error(.conflict, "apply_failed", message)
            status = 409
            detail = .string(message)
        }
        let entry = AuditLog.Entry(actor: principal.name, role: principal.role.rawValue, action: action, target: target, status: status,
                                   before: before, after: after, detail: detail)
        let audit = hub.audit
        _ = await BlockingLane.run { audit.record(entry) }
        return response
    }

    static func planResponse(_ plan: CompositionPlan, status: HTTPResponse.Status) -> Response {
        var members = plan.json.objectValue ?? []
        members.append(("plan", .string(plan.text)))
        if !plan.canApply {
            members.insert(("error", .string("plan_refused")), at: 0)
            members.insert(("message", .string("the plan cannot be applied; nothing was changed:\n" + plan.refusals.map(\.description).joined(separator: "\n"))), at: 1)
        }
        var writer = JSONWriter()
        writer.value(.object(members))
        return APIResponse.json(status, writer.bytes)
    }

    /// GET /v1/audit?limit=N&before=K: the newest entries first; `next` continues.
    static func auditEntries(_ hub: Hub, _ request: Request) async -> Response {
        let limitText = request.uri.queryParameters.get("limit")
        let limit = limitText.flatMap { Int($0) } ?? 50
        guard (1...1000).contains(limit) else {
            return APIResponse.error(.badRequest, "invalid_limit", "limit must be 1-1000", problems: [FieldProblem(field: "query:limit", message: "expected 1-1000")])
        }
        let beforeText = request.uri.queryParameters.get("before")
        let before = beforeText.flatMap { UInt64($0) }
        if beforeText != nil && before == nil {
            return APIResponse.error(.badRequest, "invalid_before", "before must be an entry number from a previous page's `next`",
                                     problems: [FieldProblem(field: "query:before", message: "expected a positive integer")])
        }
        let audit = hub.audit
        return await busRead { () async throws(PluginCallError) -> Response in
            let page = try await BlockingLane.run { Result { () throws(PluginCallError) in try audit.entries(limit: limit, before: before) } }.get()
            var members: [(key: String, value: JSONValue)] = [("entries", .array(page.entries))]
            members.append(("next", page.next.map { .number(String($0)) } ?? .null))
            var writer = JSONWriter()
            writer.value(.object(members))
            return APIResponse.json(.ok, writer.bytes)
        }
    }
}
