import ArgumentParser
import Foundation
import HubCore
import HubJSON
import HubLoader

/// `orderhub apply MANIFEST [--dry-run]`: show what would change in the running hub, then
/// change it live (hot swap with state hand-over, canaries, grants, pipeline).
struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply", abstract: "Show the plan for a manifest against the running hub, then carry it out live.",
        discussion: "The token comes from ORDERHUB_TOKEN (an admin's). Exit status: 0 applied (or nothing to do), 2 manifest invalid, 3 plan refused, 4 failed.")

    @Argument(help: "The manifest to apply (read by the hub, on its machine).") var manifest: String
    @Flag(help: "Show the plan only; change nothing.") var dryRun = false
    @OptionGroup var target: DispatchCommand.HubOption
    @Flag(help: "Print the API's JSON.") var json = false

    func run() async throws {
        let path = ManifestParser.absolutePath(manifest)
        var writer = JSONWriter()
        writer.object { o in
            o.field("manifest", path)
            o.field("dry_run", dryRun)
        }
        let (status, body) = try await AdminClient.send("POST", target.hub + "/v1/admin/apply", json: writer.bytes)
        let answer = try? JSONParser.parse(body)
        if json { Output.out(String(decoding: body, as: UTF8.self)) }
        switch status {
        case 200:
            if !json {
                Output.out(answer?["plan"]?.stringValue ?? ComposeOutput.planText(answer))
                if !dryRun { Output.out(ComposeOutput.appliedText(answer)) } else { Output.out("dry run: nothing changed; run without --dry-run to apply") }
            }
        case 409 where answer?["error"]?.stringValue == "plan_refused":
            if !json {
                Output.err(answer?["plan"]?.stringValue ?? AdminClient.message(status, body))
                Output.err("nothing was changed")
            }
            throw ExitCode(ExitCodes.pluginRefused)
        case 422:
            Output.err(AdminClient.message(status, body))
            throw ExitCode(ExitCodes.manifestInvalid)
        default:
            throw AdminClient.fail(status, body)
        }
    }
}

/// `orderhub canary promote|rollback SLOT`.
struct CanaryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "canary", abstract: "Promote a slot's canary to serve every order, or roll it back.",
        subcommands: [Promote.self, Rollback.self])

    struct Promote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "promote", abstract: "The canary serves every order (the primary's state handed over).")
        @Argument(help: "The slot.") var slot: String
        @OptionGroup var target: DispatchCommand.HubOption
        func run() async throws { try await ComposeOutput.post(target.hub, "/v1/admin/slots/\(slot)/promote") }
    }

    struct Rollback: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rollback", abstract: "End the canary: every order goes to the primary.")
        @Argument(help: "The slot.") var slot: String
        @OptionGroup var target: DispatchCommand.HubOption
        func run() async throws { try await ComposeOutput.post(target.hub, "/v1/admin/slots/\(slot)/canary-rollback") }
    }
}

/// `orderhub rollback SLOT`: back to the version the slot had before its last swap.
struct RollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback", abstract: "Swap a slot back to the version it had before its last swap or promotion (state handed over).")
    @Argument(help: "The slot.") var slot: String
    @OptionGroup var target: DispatchCommand.HubOption
    func run() async throws { try await ComposeOutput.post(target.hub, "/v1/admin/slots/\(slot)/rollback") }
}

/// `orderhub token new NAME ROLE [SLOT]` and `orderhub audit`.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Make an API token: prints the token (give it to its holder) and its line for admin.tokens_file.",
        subcommands: [New.self, Hash.self])

    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "new", abstract: "A new random token and its tokens-file line.")
        @Argument(help: "Who holds it (shown in the audit log).") var name: String
        @Argument(help: "admin, operator, client, viewer or integrator.") var role: String
        @Argument(help: "An integrator's connector slot.") var slot: String?

        func run() throws {
            guard let parsed = AccessControl.Role(rawValue: role) else {
                throw ValidationError("role '\(role)' is not one of \(AccessControl.Role.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if parsed == .integrator && slot == nil { throw ValidationError("an integrator token names its connector slot") }
            if parsed != .integrator && slot != nil { throw ValidationError("only integrator tokens name a slot") }
            var random = [UInt8](repeating: 0, count: 32)
            guard let urandom = fopen("/dev/urandom", "rb"), fread(&random, 1, 32, urandom) == 32 else { throw ValidationError("cannot read /dev/urandom") }
            fclose(urandom)
            let token = "oh_" + random.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
            Output.out("token: \(token)")
            Output.out("line:  \(name) \(role) sha256:\(SHA256.hex(Array(token.utf8)))\(slot.map { " \($0)" } ?? "")")
        }
    }

    struct Hash: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "hash", abstract: "The tokens-file hash of a token you already have.")
        @Argument(help: "The token.") var token: String
        func run() throws { Output.out("sha256:\(SHA256.hex(Array(token.utf8)))") }
    }
}

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "The running hub's audit log, newest first.")
    @OptionGroup var target: DispatchCommand.HubOption
    @Option(help: "How many entries.") var limit = 20
    @Flag(help: "Print the API's JSON.") var json = false

    func run() async throws {
        let (status, body) = try await AdminClient.send("GET", target.hub + "/v1/audit?limit=\(limit)")
        guard status == 200 else { throw AdminClient.fail(status, body) }
        if json { Output.out(String(decoding: body, as: UTF8.self)); return }
        for entry in (try? JSONParser.parse(body))?["entries"]?.arrayValue ?? [] {
            let data = entry["data"]
            let fields = [entry["time"]?.stringValue ?? "", data?["actor"]?.stringValue ?? "", data?["role"]?.stringValue ?? "",
                          data?["action"]?.stringValue ?? "", data?["target"]?.stringValue ?? "", data?["status"].map(AdminClient.text) ?? ""]
            Output.out(fields.joined(separator: "\t"))
        }
    }
}

enum ComposeOutput {
    static func post(_ hub: String, _ path: String) async throws {
        let (status, body) = try await AdminClient.send("POST", hub + path)
        guard status == 200 else {
            Output.err(AdminClient.message(status, body))
            // As `apply`: 3 when the change was refused (nothing changed), 4 for anything else.
            throw ExitCode(status == 409 ? ExitCodes.pluginRefused : ExitCodes.runtimeFailure)
        }
        let answer = try? JSONParser.parse(body)
        Output.out(planText(answer))
        Output.out(appliedText(answer))
    }

    /// The same lines as the hub's plan text: `+` load, `-` remove, `~` the rest.
    static func planText(_ answer: JSONValue?) -> String {
        (answer?["changes"]?.arrayValue ?? []).map { change in
            let from = change["from"]?.stringValue
            let to = change["to"]?.stringValue
            let action = change["action"]?.stringValue ?? ""
            let mark = action == "load" ? "+" : action == "remove" ? "-" : "~"
            var line = "\(mark) \(action) \(change["slot"]?.stringValue ?? "")"
            if let from, let to { line += ": \(from) -> \(to)" } else if let value = to ?? from { line += ": \(value)" }
            if let detail = change["detail"]?.stringValue, !detail.isEmpty { line += " (\(detail))" }
            return line
        }.joined(separator: "\n")
    }

    static func appliedText(_ answer: JSONValue?) -> String {
        let switches = (answer?["switch_ms"]?.objectValue ?? []).map { "\($0.key) held \(AdminClient.text($0.value)) ms" }
        let total = answer?["total_ms"].map(AdminClient.text) ?? "?"
        return "applied in \(total) ms" + (switches.isEmpty ? "" : " (\(switches.joined(separator: ", ")))")
    }
}
