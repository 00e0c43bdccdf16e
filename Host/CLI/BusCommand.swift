import ArgumentParser
import HubCore
import HubLoader
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// `orderhub bus ...`: tools for the state bus itself.
struct BusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bus", abstract: "Tools for the state bus (migrate from one bus to another).", subcommands: [BusMigrateCommand.self])
}

/// `orderhub bus migrate --from A --to B`: copies the log, idempotency records and KV of A's
/// bus into B's (empty) bus, shows progress, and verifies counts and checksums. Stop the hub
/// first; afterwards the manifest's bus entry is the only thing to change.
struct BusMigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Copy a hub's state bus into another, empty bus (SQLite <-> PostgreSQL) and verify it.")

    @Option(name: .long, help: "Manifest whose state bus is copied (the hub must be stopped).")
    var from: String

    @Option(name: .long, help: "Manifest whose state bus receives the copy (must be empty).")
    var to: String

    @Option(name: .long, help: "Records per append.")
    var batch: Int = 500

    func run() throws {
        let logger = Logger(label: "orderhub.migrate")
        let source: Manifest, target: Manifest
        do {
            source = try ManifestParser.load(path: from)
            target = try ManifestParser.load(path: to)
        } catch {
            Output.err(error.description)
            throw ExitCode(ExitCodes.manifestInvalid)
        }
        let fromBus: PluginInstance, toBus: PluginInstance
        do throws(LoadError) {
            fromBus = try BusMigration.openBus(source, logger: logger)
            toBus = try BusMigration.openBus(target, logger: logger)
        } catch {
            Output.err("orderhub bus migrate: \(error)")
            throw ExitCode(ExitCodes.pluginRefused)
        }
        defer {
            try? toBus.flush()
            fromBus.destroy()
            toBus.destroy()
        }
        Output.out("from \(from): \(fromBus.descriptor.id) \(fromBus.descriptor.version)")
        Output.out("to   \(to): \(toBus.descriptor.id) \(toBus.descriptor.version)")
        let bar = PhaseProgress()
        let report: BusMigration.Report
        do throws(BusMigration.Failure) {
            report = try BusMigration(from: fromBus, to: toBus, batch: batch).run { bar.show($0, $1, $2) }
        } catch {
            bar.end()
            Output.err("orderhub bus migrate: \(error)")
            throw ExitCode(ExitCodes.runtimeFailure)
        }
        bar.end()
        Output.out("".padding(12) + " " + "source".leftPadding(12) + " " + "target".leftPadding(12))
        for (name, a, b) in [("records", report.source.records, report.target.records), ("events", report.source.events, report.target.events),
                             ("idempotency", report.source.idempotency, report.target.idempotency), ("kv", report.source.kv, report.target.kv)] {
            Output.out(name.padding(12) + " " + "\(a)".leftPadding(12) + " " + "\(b)".leftPadding(12) + "  " + (a == b ? "ok" : "DIFFERENT"))
        }
        for part in ["log", "idempotency", "kv"] {
            let a = report.sourceChecksums[part] ?? "", b = report.targetChecksums[part] ?? ""
            Output.out("sha256 \(part): \(a.prefix(16))... \(a == b ? "= target" : "!= target \(b.prefix(16))...")")
        }
        guard report.matches else {
            Output.err("orderhub bus migrate: the copy does not match the source (above); do not switch the manifest")
            throw ExitCode(ExitCodes.runtimeFailure)
        }
        Output.out("verified: switch the manifest's bus entry to \(to)'s and start the hub")
    }
}

/// One line on stderr, redrawn in place on a terminal; every 10% otherwise (CI logs).
final class PhaseProgress {
    private let terminal = isatty(2) == 1
    private var lastPhase = ""
    private var lastTenth = -1
    private var started = Clock.monotonicNanos()

    func show(_ phase: String, _ done: Int, _ total: Int) {
        if phase != lastPhase {
            if terminal && !lastPhase.isEmpty { FileOut.err("\n") }
            lastPhase = phase
            lastTenth = -1
            started = Clock.monotonicNanos()
        }
        let seconds = max(Double(Clock.monotonicNanos() - started) / 1e9, 0.001)
        let rate = Int(Double(done) / seconds)
        let line: String
        if total > 0 {
            let fraction = min(1, Double(done) / Double(total))
            let filled = Int(fraction * 30)
            line = "\(phase.padding(12)) [\(String(repeating: "#", count: filled))\(String(repeating: "-", count: 30 - filled))] \(Int(fraction * 100))%  \(done)/\(total)  \(rate)/s"
            let tenth = Int(fraction * 10)
            if !terminal && tenth == lastTenth { return }
            lastTenth = tenth
        } else {
            line = "\(phase.padding(12)) \(done) copied  \(rate)/s"
            if !terminal && done % 5000 != 0 { return }
        }
        FileOut.err(terminal ? "\r\u{1B}[2K" + line : line + "\n")
    }

    func end() { if terminal && !lastPhase.isEmpty { FileOut.err("\n") } }
}

private enum FileOut {
    static func err(_ text: String) {
        var copy = text
        copy.withUTF8 { buffer in _ = Glibc.write(2, buffer.baseAddress!, buffer.count) }
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
    fileprivate func leftPadding(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
