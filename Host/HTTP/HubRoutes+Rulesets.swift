import HTTPTypes
import HubCore
import HubJSON
import HubLoader
import Hummingbird

/// /v1/rulesets: drafts, versions, publish, rollback, sandbox and lint (docs/rules.md).
extension HubRoutes {
    static func addRulesetRoutes(_ router: Router<HubRequestContext>, _ hub: Hub) {
        router.get("/v1/rulesets") { request, _ in
            answer(await hub.rules.command("rulesets.list", .object([]), slot: slot(request)))
        }
        router.post("/v1/rulesets") { request, _ in await createRuleset(hub, request) }
        router.get("/v1/rulesets/:ruleset/versions") { request, context in
            answer(await hub.rules.command("rulesets.versions", args(context), slot: slot(request)))
        }
        router.get("/v1/rulesets/:ruleset/versions/:version") { request, context in
            guard let version = context.parameters.get("version").flatMap({ Int64($0) }) else {
                return APIResponse.error(.badRequest, "invalid_version", "the version is a number, e.g. /v1/rulesets/checkout/versions/3")
            }
            return answer(await hub.rules.command("rulesets.source", args(context, ["version": .number(String(version))]), slot: slot(request)))
        }
        router.post("/v1/rulesets/:ruleset/publish") { request, context in await publish(hub, request, context, "rulesets.publish") }
        router.post("/v1/rulesets/:ruleset/rollback") { request, context in await publish(hub, request, context, "rulesets.rollback") }
        router.post("/v1/rulesets/:ruleset/simulate") { request, context in await simulate(hub, request, context) }
        router.get("/v1/rulesets/:ruleset/lint") { request, context in
            var extra: [String: JSONValue] = [:]
            if let version = request.uri.queryParameters.get("version").flatMap({ Int64($0) }) { extra["version"] = .number(String(version)) }
            return answer(await hub.rules.command("rulesets.lint", args(context, extra), slot: slot(request)))
        }
        router.get("/v1/promotions/usage") { request, _ in
            answer(await hub.rules.command("promotions.usage", .object([]), slot: slot(request)))
        }
    }

    static func slot(_ request: Request) -> String? { request.uri.queryParameters.get("slot").map { String($0) } }

    static func args(_ context: HubRequestContext, _ extra: [String: JSONValue] = [:]) -> JSONValue {
        .object([("ruleset", .string(context.parameters.get("ruleset") ?? ""))] + extra.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
    }

    /// Maps a plugin's answer to HTTP: bad ruleset text 422, unknown id 404, and so on.
    static func answer(_ result: Result<[UInt8], RulesAdmin.Failure>, created: Bool = false) -> Response {
        switch result {
        case .success(let bytes): return APIResponse.json(created ? .created : .ok, bytes)
        case .failure(.noEngine(let message)): return APIResponse.error(.notImplemented, "no_rules_engine", message)
        case .failure(.busy(let message)): return APIResponse.error(.conflict, "canary_running", message)
        case .failure(.plugin(let error)):
            switch error.status {
            case 1: return APIResponse.error(.unprocessableContent, "invalid_ruleset", error.message)
            case 8: return APIResponse.error(.notFound, "not_found", error.message)
            case 9: return APIResponse.error(.conflict, "conflict", error.message + " (another publish happened at the same time; retry)")
            default:
                return APIResponse.error(.serviceUnavailable, "unavailable", "the rules plugin could not answer: \(error.message)",
                                         headers: [.retryAfter: "1"])
            }
        }
    }

    static func createRuleset(_ hub: Hub, _ request: Request) async -> Response {
        let type = request.headers[.contentType]?.lowercased() ?? "application/yaml"
        guard ["yaml", "json", "text/plain"].contains(where: { type.contains($0) }) else {
            return APIResponse.error(.unsupportedMediaType, "unsupported_media_type",
                                     "send the ruleset as application/yaml or application/json (one ruleset per request)")
        }
        guard let body = await readBody(request) else {
            return APIResponse.error(.contentTooLarge, "body_too_large", "a ruleset may be at most \(maxBodyBytes) bytes")
        }
        let file = request.uri.queryParameters.get("file").map { String($0) } ?? "request-body." + (type.contains("json") ? "json" : "yaml")
        var fields: [(key: String, value: JSONValue)] = [("source", .string(String(decoding: body, as: UTF8.self))), ("file", .string(file))]
        if let note = request.uri.queryParameters.get("note") { fields.append(("note", .string(String(note)))) }
        let result = await hub.rules.command("rulesets.create", .object(fields), slot: slot(request))
        if case .success(let bytes) = result, let answer = try? JSONParser.parse(bytes),
           let id = answer["ruleset"]?.stringValue, let version = answer["version"]?.intValue {
            return APIResponse.json(.created, bytes, headers: [.location: "/v1/rulesets/\(id)/versions/\(version)"])
        }
        return answer(result)
    }

    /// Optional JSON body {"version": N}; no body means the latest draft (publish) or the
    /// previous published version (rollback).
    static func publish(_ hub: Hub, _ request: Request, _ context: HubRequestContext, _ command: String) async -> Response {
        guard let body = await readBody(request) else { return APIResponse.error(.contentTooLarge, "body_too_large", "body too large") }
        var extra: [String: JSONValue] = [:]
        if !body.isEmpty {
            guard let json = try? JSONParser.parse(body), json.objectValue != nil else {
                return APIResponse.error(.badRequest, "invalid_json", "expected nothing or {\"version\": N}")
            }
            if let version = json["version"] {
                guard version.intValue != nil else {
                    return APIResponse.error(.unprocessableContent, "invalid_version", "'version' must be a whole number",
                                             problems: [FieldProblem(field: "version", message: "expected a number")])
                }
                extra["version"] = version
            }
        }
        return answer(await hub.rules.command(command, args(context, extra), slot: slot(request)))
    }

    /// Body {"version": N?, "last": 1000, "since": RFC3339?, "until": RFC3339?}.
    static func simulate(_ hub: Hub, _ request: Request, _ context: HubRequestContext) async -> Response {
        guard let body = await readBody(request) else { return APIResponse.error(.contentTooLarge, "body_too_large", "body too large") }
        let json = body.isEmpty ? JSONValue.object([]) : (try? JSONParser.parse(body)) ?? .null
        guard json.objectValue != nil else {
            return APIResponse.error(.badRequest, "invalid_json", "expected {\"version\": N, \"last\": 1000, \"since\": \"2026-11-01T00:00:00Z\"} (all optional)")
        }
        var problems: [FieldProblem] = []
        let last = Int(json["last"].map { $0.intValue ?? -1 } ?? 1000)
        if last < 1 || last > 1_000_000 { problems.append(FieldProblem(field: "last", message: "a whole number from 1 to 1000000")) }
        func time(_ field: String) -> Int64? {
            guard let value = json[field] else { return nil }
            guard let text = value.stringValue, let nanos = Timestamp.parseRFC3339(text) else {
                problems.append(FieldProblem(field: field, message: "an RFC 3339 time such as 2026-11-01T00:00:00Z"))
                return nil
            }
            return nanos
        }
        let since = time("since"), until = time("until")
        if json["version"] != nil && json["version"]?.intValue == nil { problems.append(FieldProblem(field: "version", message: "a whole number")) }
        guard problems.isEmpty else {
            return APIResponse.error(.unprocessableContent, "invalid_simulation", problems.map(\.description).joined(separator: "; "), problems: problems)
        }
        let id = context.parameters.get("ruleset") ?? ""
        return answer(await hub.rules.simulate(ruleset: id, version: json["version"]?.intValue, last: last, since: since, until: until, slot: slot(request)))
    }
}
