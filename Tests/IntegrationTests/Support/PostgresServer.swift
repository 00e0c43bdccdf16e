import Foundation
import Testing

/// The PostgreSQL server the scale-out tests use: the private one `scripts/test.sh` started
/// (ORDERHUB_TEST_PG_URL), or, when a test runs on its own, one started here the same way
/// (`scripts/postgres.sh start`) and stopped when the test process exits. Never a server
/// someone started by hand.
enum PostgresServer {
    private static let started: (url: String, dir: String?)? = {
        if let url = ProcessInfo.processInfo.environment["ORDERHUB_TEST_PG_URL"], !url.isEmpty { return (url, nil) }
        guard let result = try? ChildProcess.runShell(Products.repository + "/scripts/postgres.sh start"), result.status == 0 else { return nil }
        var url = "", dir = ""
        for line in result.stdout.split(separator: "\n") {
            if let value = line.split(separator: "'").dropFirst().first {
                if line.contains("ORDERHUB_TEST_PG_URL") { url = String(value) }
                if line.contains("ORDERHUB_PG_DIR") { dir = String(value) }
            }
        }
        guard !url.isEmpty else { return nil }
        stopDirectory = dir
        atexit { if let dir = PostgresServer.stopDirectory { _ = try? ChildProcess.runShell(Products.repository + "/scripts/postgres.sh stop \(dir)") } }
        return (url, dir)
    }()
    nonisolated(unsafe) private static var stopDirectory: String?  // written once, before atexit runs

    /// The server's URL; fails the test when no server could be started.
    static func url() throws -> String {
        guard let started else {
            Issue.record("no PostgreSQL server: scripts/postgres.sh start failed (is the postgresql package installable?)")
            throw CocoaError(.fileNoSuchFile)
        }
        return started.url
    }

    /// A fresh schema name for one test (its own tables on the shared server).
    static func schema(_ name: String = #function) -> String {
        "t_" + name.lowercased().filter { $0.isLetter || $0.isNumber }.prefix(30) + "_" + UUID().uuidString.prefix(8).lowercased()
    }

    /// The manifest lines of a PostgreSQL bus on `schema` (indented for `plugins.bus`).
    static func busEntry(schema: String, url: String? = nil) throws -> String {
        """
            kind: state_bus
            library: \(try Products.library("StateBusPostgres"))
            config: {url: "\(try url ?? PostgresServer.url())", schema: \(schema)}
        """
    }

    /// Runs SQL with psql against the server (test setup and fault injection).
    @discardableResult
    static func psql(_ sql: String) throws -> String {
        let result = try ChildProcess.runShell("psql '\(try url())' -qtAX -v ON_ERROR_STOP=1 -c \"\(sql)\"")
        guard result.status == 0 else {
            Issue.record("psql failed: \(result.stderr)")
            throw CocoaError(.executableLoad)
        }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

extension ChildProcess {
    /// Runs a shell command line to completion.
    static func runShell(_ command: String) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", command]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }
}
