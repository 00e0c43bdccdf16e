import ArgumentParser
import HubCore

/// `orderhub manifest pin`: write the current sha256 of every plugin into a manifest.
struct ManifestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "manifest", abstract: "Work with manifests.", subcommands: [Pin.self])

    struct Pin: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write each plugin's current sha256 into the manifest (after you rebuilt or replaced a plugin).")

        @Argument(help: "Manifest to update in place.")
        var manifest: String

        func run() throws {
            do {
                let changes = try ManifestPinner.pin(path: manifest)
                for change in changes {
                    Output.out("\(change.slot): \(change.old.map { String($0.prefix(12)) + "…" } ?? "(none)") -> \(change.new)")
                }
                Output.out("\(manifest): \(changes.isEmpty ? "all pins already current" : "\(changes.count) pin(s) written")")
            } catch {
                Output.err("\(error)")
                throw ExitCode(ExitCodes.manifestInvalid)
            }
        }
    }
}
