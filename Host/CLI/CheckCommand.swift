import ArgumentParser
import HubCore
import Logging

/// `orderhub check`: validate a manifest and every plugin it names, without serving.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a manifest and its plugins (exists, sha256, ABI, kind, config accepted by create).",
        discussion: "Prints every problem as file:line:col: message and exits 2; exits 0 when all is well.")

    @Argument(help: "Manifest to check.")
    var manifest: String

    func run() throws {
        var logger = Logger(label: "orderhub.check")
        logger.logLevel = .error
        let problems = ManifestChecker.check(path: manifest, logger: logger)
        guard problems.isEmpty else {
            for problem in problems { Output.err(problem.description) }
            Output.err("\(manifest): \(problems.count) problem(s)")
            throw ExitCode(ExitCodes.manifestInvalid)
        }
        Output.out("\(manifest): ok")
    }
}
