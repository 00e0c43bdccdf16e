import Foundation
import HubCore
import HubDevTools
import HubLoader
import Testing

/// The admin plane: bearer tokens (stored hashed) with roles guard every route, 401 for no
/// or unknown token, 403 for the wrong role; every change and refusal is in the audit log,
/// as events. Field grants: a plugin is handed only the order fields the manifest grants it.
@Suite(.serialized) struct AccessTests {
    static let tokens = ["boss": "t-admin-7f3a", "ops": "t-operator-91c2", "eyes": "t-viewer-55d0", "shop": "t-client-0b8e", "wms-co": "t-wms-c4d1"]

    static func tokensFile(_ directory: String) throws -> String {
        let roles = ["boss": "admin", "ops": "operator", "eyes": "viewer", "shop": "client", "wms-co": "integrator"]
        var lines = ["# name role hash [slot] -- tokens are never stored, only their sha256"]
        for (name, token) in tokens.sorted(by: { $0.key < $1.key }) {
            lines.append("\(name) \(roles[name]!) sha256:\(SHA256.hex(Array(token.utf8)))\(name == "wms-co" ? " wms" : "")")
        }
        let path = directory + "/tokens.txt"
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func call(_ h: ComposeHarness, _ method: String, _ path: String, as who: String?, body: String? = nil) async throws -> HTTPResult {
        var headers = ["Content-Type": "application/json"]
        if let who { headers["Authorization"] = "Bearer \(Self.tokens[who] ?? who)" }
        return try await HTTP.send(method, h.baseURL + path, headers: headers, body: body.map { Data($0.utf8) })
    }

    @Test func tokensAndRolesGuardEveryRouteAndTheAuditLogShowsWhoDidWhat() async throws {
        let directory = Products.tempDirectory()
        let v1 = try ComposeHarness.counter(directory, "v1")
        let v2 = try ComposeHarness.counter(directory, "v2", defines: [#"COUNTER_VERSION="2.0.0""#])
        _ = try Self.tokensFile(directory)
        let admin = "admin:\n  tokens_file: tokens.txt"
        let base = try ComposeHarness(directory: directory).manifest("one", rules: v1, extra: admin)
        let h = try await ComposeHarness.start(base, directory: directory)
        defer { Task { await h.stop() } }
        let next = try h.manifest("two", rules: v2, extra: admin)
        let applyBody = #"{"manifest":"\#(next)"}"#

        #expect(try await call(h, "GET", "/v1/health", as: nil).status == 200)
        let anonymous = try await call(h, "GET", "/v1/admin/composition", as: nil)
        #expect(anonymous.status == 401)
        #expect(anonymous.headers["www-authenticate"]?.hasPrefix("Bearer") == true)
        #expect(try await call(h, "GET", "/v1/admin/composition", as: "not-a-token").status == 401)
        #expect(try await call(h, "POST", "/v1/orders", as: nil, body: "{}").status == 401)

        // viewer: reads only.
        #expect(try await call(h, "GET", "/v1/admin/composition", as: "eyes").status == 200)
        let viewerApply = try await call(h, "POST", "/v1/admin/apply", as: "eyes", body: applyBody)
        #expect(viewerApply.status == 403 && viewerApply.text.contains("'eyes' is viewer; this needs admin"), "\(viewerApply.text)")
        #expect(try await call(h, "POST", "/v1/orders", as: "eyes", body: "{}").status == 403)
        // client: submits orders, reads them, composes nothing.
        let created = try await HTTP.send("POST", h.baseURL + "/v1/orders", headers: [
            "Authorization": "Bearer \(Self.tokens["shop"]!)", "Idempotency-Key": "acc-1", "Content-Type": "application/json",
        ], body: Data(SampleOrders.order(ref: "ACC-1").utf8))
        #expect(created.status == 201, "\(created.text)")
        let id = created.object["id"] as? String ?? ""
        #expect(try await call(h, "GET", "/v1/orders/\(id)", as: "shop").status == 200)
        #expect(try await call(h, "GET", "/v1/audit", as: "shop").status == 403)
        // operator: rules and the audit log, not composition.
        #expect(try await call(h, "POST", "/v1/admin/apply", as: "ops", body: applyBody).status == 403)
        #expect(try await call(h, "GET", "/v1/audit", as: "ops").status == 200)
        // integrator: its own connector's callbacks only.
        let own = try await call(h, "POST", "/v1/connectors/wms/events", as: "wms-co", body: "{}")
        #expect(own.status != 401 && own.status != 403, "\(own.status) \(own.text)")
        #expect(try await call(h, "POST", "/v1/connectors/tms/events", as: "wms-co", body: "{}").status == 403)
        #expect(try await call(h, "GET", "/v1/orders/\(id)", as: "wms-co").status == 403)
        // The router skips empty path segments: so does the check (no way round it by `//`).
        #expect(try await call(h, "POST", "//v1/admin/apply", as: "ops", body: applyBody).status == 403)
        #expect(try await call(h, "POST", "/v1//admin/slots/rules/rollback", as: "ops").status == 403)
        #expect(try await call(h, "GET", "/v1//audit", as: "eyes").status == 403)
        // A client may cancel its order, not decide a hold or a rejection.
        let reject = try await call(h, "POST", "/v1/orders/\(id)/transitions", as: "shop", body: #"{"to":"rejected"}"#)
        #expect(reject.status == 403 && reject.text.contains("a client may cancel"), "\(reject.text)")
        // admin: composes.
        let applied = try await call(h, "POST", "/v1/admin/apply", as: "boss", body: applyBody)
        #expect(applied.status == 200, "\(applied.text)")
        #expect(h.hub.plugins.slot("rules")?.primary.descriptor.version == "2.0.0")

        // The audit log: who, what, when, before and after; refusals too.
        let audit = try await call(h, "GET", "/v1/audit?limit=100", as: "ops")
        let entries = (audit.object["entries"] as? [[String: Any]] ?? []).map { $0["data"] as? [String: Any] ?? [:] }
        let apply = try #require(entries.first { $0["action"] as? String == "apply" && $0["status"] as? Int == 200 }, "\(audit.text)")
        #expect(apply["actor"] as? String == "boss")
        #expect(apply["role"] as? String == "admin")
        #expect("\(apply["before"] ?? "")".contains("1.0.0") && "\(apply["after"] ?? "")".contains("2.0.0"), "\(apply)")
        #expect(entries.contains { $0["actor"] as? String == "eyes" && $0["status"] as? Int == 403 && $0["action"] as? String == "POST /v1/admin/apply" })
        #expect(entries.contains { $0["actor"] as? String == "ops" && $0["status"] as? Int == 403 })
        let first = (audit.object["entries"] as? [[String: Any]] ?? []).first
        #expect(first?["type"] as? String == "com.orderhub.admin.action.v1" && first?["time"] != nil && first?["specversion"] as? String == "1.0")
        // A changed tokens file is read again by apply; removing it live is refused.
        let file = directory + "/tokens.txt"
        try (try String(contentsOfFile: file, encoding: .utf8) + "\nnewbie viewer sha256:\(SHA256.hex(Array("t-new-1".utf8)))\n").write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try await call(h, "GET", "/v1/admin/composition", as: "t-new-1").status == 401)
        let reread = try await call(h, "POST", "/v1/admin/apply", as: "boss", body: applyBody)
        #expect(reread.status == 200 && reread.text.contains("token(s) read again"), "\(reread.text)")
        #expect(try await call(h, "GET", "/v1/admin/composition", as: "t-new-1").status == 200)
        let open = try h.manifest("open", rules: v2)
        let refused = try await call(h, "POST", "/v1/admin/apply", as: "boss", body: #"{"manifest":"\#(open)"}"#)
        #expect(refused.status == 409 && refused.text.contains("open to every caller"), "\(refused.text)")
        // The same actions are events in the log (hub-wide, no order).
        let (json, _) = try h.hub.plugins.bus.read(after: 0, max: 10_000)
        #expect(String(decoding: json, as: UTF8.self).contains("com.orderhub.admin.action.v1"))
    }

    @Test func aTokensFileWithAMistakeNamesTheLine() throws {
        let directory = Products.tempDirectory()
        let path = directory + "/tokens.txt"
        try "boss admin sha256:\(String(repeating: "a", count: 64))\nops superuser sha256:\(String(repeating: "b", count: 64))\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: AccessControl.FileError.self) { try AccessControl(tokensFile: path) }
        do { _ = try AccessControl(tokensFile: path) } catch { #expect(error.description.hasSuffix("tokens.txt:2: role 'superuser' is not one of admin, operator, client, viewer, integrator")) }
        // Tokens may come from the environment too (ORDERHUB_TOKENS), beside or instead of a file.
        let env = "ci admin sha256:\(SHA256.hex(Array("t-ci".utf8)));ro viewer sha256:\(SHA256.hex(Array("t-ro".utf8)))"
        let fromEnvironment = try AccessControl(tokensFile: nil, environment: env)
        #expect(!fromEnvironment.isOpen && fromEnvironment.count == 2)
        #expect(fromEnvironment.decide(authorization: "Bearer t-ci", .administer) == .allowed(.init(name: "ci", role: .admin, slot: nil)))
        if case .forbidden = fromEnvironment.decide(authorization: "Bearer t-ro", .administer) {} else { Issue.record("a viewer from the environment may not administer") }
        if case .unauthenticated = fromEnvironment.decide(authorization: nil, .read) {} else { Issue.record("no token must be 401") }
        #expect(try AccessControl(tokensFile: nil, environment: nil).isOpen)
        #expect(AccessControl.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!AccessControl.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!AccessControl.constantTimeEqual([1, 2], [1, 2, 3]))
    }

    @Test func anOpenAdminPlaneIsRefusedOffLoopback() throws {
        let directory = Products.tempDirectory()
        let v1 = try ComposeHarness.counter(directory, "v1")
        let path = try ComposeHarness(directory: directory).manifest("open", rules: v1)
        let result = try ChildProcess.run(["run", "--manifest", path, "--listen", "0.0.0.0:0"])
        #expect(result.status == 2, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.contains("admin.tokens_file"), "\(result.stderr)")
    }

    @Test func pluginsSeeOnlyTheFieldsTheManifestGrantsThem() async throws {
        let directory = Products.tempDirectory()
        let v1 = try ComposeHarness.counter(directory, "v1")
        let wms = FakeWMS()
        try await wms.start()
        defer { Task { await wms.stop() } }
        let extra = """
              open:
                kind: rules
                library: \(v1)
              wms:
                kind: connector
                library: \(try Products.library("HTTPConnector"))
                fields: [items, ship_to.country, ship_to.postal_code]
                config: {url: "\(wms.url)", timeout_ms: 2000}
            """
        let path = try ComposeHarness(directory: directory).manifest("grants", rules: v1, rulesExtra: "    fields: [items, customer.tier, shipping]",
                                                                    extra: extra, pipeline: "[rules, open]")
        let h = try await ComposeHarness.start(path, directory: directory)
        defer { Task { await h.stop() } }
        let id = try await h.order("grant-1")
        let events = (try await HTTP.send("GET", h.baseURL + "/v1/orders/\(id)/events").json as? [[String: Any]]) ?? []
        let answers = events.filter { $0["type"] as? String == "com.orderhub.rules.evaluated.v1" }.map { event in
            (event["producer"] as? String ?? "", (event["data"] as? [String: Any])?["tags"] as? [String] ?? [])
        }
        // The client's IP reached the plugin with no grant, and not the one without it.
        #expect(answers.first { $0.0 == "rules" }?.1.contains("ip:") == true, "\(answers)")
        #expect(answers.first { $0.0 == "open" }?.1.contains("ip:203.0.113.7") == true, "\(answers)")
        #expect(await HTTP.eventually(10) { !wms.accepted.isEmpty })
        let sent = String(decoding: try #require(wms.accepted.first).body, as: UTF8.self)
        #expect(sent.contains("\"items\"") && sent.contains("\"postal_code\""), "\(sent)")
        for denied in ["client_ip", "203.0.113.7", "payment", "credit_card", "customer", "c-42", "\"region\""] {
            #expect(!sent.contains(denied), "'\(denied)' reached the WMS: \(sent)")
        }
        // The log keeps the whole order: grants limit plugins, not the record.
        #expect(events.first { $0["type"] as? String == "com.orderhub.order.received.v1" }.map { "\($0)" }?.contains("203.0.113.7") == true)
    }
}
