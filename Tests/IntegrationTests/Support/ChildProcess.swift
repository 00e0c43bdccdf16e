import Foundation

/// The real `orderhub` binary as a child process, for CLI and crash tests.
final class ChildProcess: @unchecked Sendable {  // output guarded by lock
    let process = Process()
    private let lock = NSLock()
    private var stdoutText = ""
    private var stderrText = ""

    init(_ arguments: [String]) {
        process.executableURL = URL(fileURLWithPath: Products.orderhub)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        process.environment = environment
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        out.fileHandleForReading.readabilityHandler = { [weak self] handle in self?.append(handle.availableData, toError: false) }
        err.fileHandleForReading.readabilityHandler = { [weak self] handle in self?.append(handle.availableData, toError: true) }
    }

    private func append(_ data: Data, toError: Bool) {
        lock.lock()
        defer { lock.unlock() }
        if toError { stderrText += String(decoding: data, as: UTF8.self) } else { stdoutText += String(decoding: data, as: UTF8.self) }
    }

    var stdout: String { lock.lock(); defer { lock.unlock() }; return stdoutText }
    var stderr: String { lock.lock(); defer { lock.unlock() }; return stderrText }

    func start() throws { try process.run() }

    /// Runs to completion (with `input` on stdin, if given) and returns the exit code.
    static func run(_ arguments: [String], input: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        let child = ChildProcess(arguments)
        let stdin = Pipe()
        if input != nil { child.process.standardInput = stdin }
        try child.start()
        if let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try stdin.fileHandleForWriting.close()
        }
        child.process.waitUntilExit()
        Thread.sleep(forTimeInterval: 0.05)
        return (child.process.terminationStatus, child.stdout, child.stderr)
    }

    /// Waits for the hub's "serving http://..." line and returns the base URL.
    func waitForServing(timeout: TimeInterval = 30) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let line = stdout.split(separator: "\n").first(where: { $0.contains("serving http://") }),
                let range = line.range(of: "http://[0-9.:]+", options: .regularExpression) {
                return String(line[range])
            }
            if !process.isRunning { return nil }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return nil
    }

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
