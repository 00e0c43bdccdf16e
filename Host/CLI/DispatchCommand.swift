import ArgumentParser
import Foundation
import HubJSON
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `orderhub dispatch dead-letters | replay`: what the running hub's connectors gave up on,
/// and sending it again (same idempotency key), over the hub's admin API.
struct DispatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dispatch", abstract: "Inspect and replay a running hub's undeliverable dispatches.",
        subcommands: [DeadLettersCommand.self, ReplayCommand.self])

    struct HubOption: ParsableArguments {
        @Option(help: "Base URL of the running hub.")
        var hub = "http://127.0.0.1:8080"
    }

    struct DeadLettersCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "dead-letters", abstract: "List deliveries a connector gave up on (refused for good, or out of attempts).")
        @OptionGroup var target: HubOption
        @Option(help: "Only this connector slot.") var connector: String?
        @Flag(help: "Print the API's JSON.") var json = false

        func run() async throws {
            let query = connector.map { "?connector=\($0.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? $0)" } ?? ""
            let (status, body) = try await AdminClient.send("GET", target.hub + "/v1/dispatch/dead-letters" + query)
            guard status == 200 else { throw AdminClient.fail(status, body) }
            if json { Output.out(String(decoding: body, as: UTF8.self)); return }
            let entries = (try? JSONParser.parse(body))?["dead_letters"]?.arrayValue ?? []
            if entries.isEmpty { Output.out("no dead letters"); return }
            for e in entries {
                let fields = ["event_id", "order_id", "connector", "status", "attempts", "error"].map { e[$0].map(AdminClient.text) ?? "" }
                Output.out(fields.joined(separator: "\t"))
            }
            Output.out("\(entries.count) dead letter(s); send one again with `orderhub dispatch replay EVENT_ID`")
        }
    }

    struct ReplayCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "replay", abstract: "Send dead letters again under their original idempotency keys.")
        @OptionGroup var target: HubOption
        @Argument(help: "Event ids from `orderhub dispatch dead-letters`.") var events: [String] = []
        @Flag(help: "Replay every dead letter.") var all = false
        @Option(help: "Only this connector slot.") var connector: String?

        func run() async throws {
            var ids = events
            if all {
                let (status, body) = try await AdminClient.send("GET", target.hub + "/v1/dispatch/dead-letters")
                guard status == 200 else { throw AdminClient.fail(status, body) }
                ids += ((try? JSONParser.parse(body))?["dead_letters"]?.arrayValue ?? []).compactMap { $0["event_id"]?.stringValue }
            }
            guard !ids.isEmpty else {
                Output.err("name event ids to replay, or pass --all")
                throw ExitCode(ExitCodes.runtimeFailure)
            }
            var failed = 0
            for id in ids {
                let path = "/v1/dispatch/dead-letters/\(id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? id)/replay"
                let (status, body) = try await AdminClient.send("POST", target.hub + path + (connector.map { "?connector=\($0)" } ?? ""))
                if status == 202 { Output.out("\(id): replayed") } else {
                    failed += 1
                    Output.err("\(id): \(AdminClient.message(status, body))")
                }
            }
            if failed > 0 { throw ExitCode(ExitCodes.runtimeFailure) }
        }
    }
}

/// A few calls to the hub's admin API. The bearer token comes from `ORDERHUB_TOKEN`.
enum AdminClient {
    static func send(_ method: String, _ url: String, json: [UInt8]? = nil) async throws -> (Int, [UInt8]) {
        guard let target = URL(string: url) else { throw ValidationError("not a URL: \(url)") }
        var request = URLRequest(url: target)
        request.httpMethod = method
        if let token = ProcessInfo.processInfo.environment["ORDERHUB_TOKEN"], !token.isEmpty {
            request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        }
        if let json {
            request.httpBody = Data(json)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        do {
            let (data, response) = try await URLSession.shared.data(for: request)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, Array(data))
        } catch {
            Output.err("cannot reach the hub at \(url): \(error.localizedDescription) (is `orderhub run` listening there? see --hub)")
            throw ExitCode(ExitCodes.runtimeFailure)
        }
    }

    static func message(_ status: Int, _ body: [UInt8]) -> String {
        let text = (try? JSONParser.parse(body))?["message"]?.stringValue ?? String(decoding: body.prefix(500), as: UTF8.self)
        return "HTTP \(status): \(text)"
    }

    static func fail(_ status: Int, _ body: [UInt8]) -> ExitCode {
        Output.err(message(status, body))
        return ExitCode(ExitCodes.runtimeFailure)
    }

    static func text(_ value: JSONValue) -> String {
        if let s = value.stringValue { return s }
        var writer = JSONWriter()
        writer.value(value)
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}
