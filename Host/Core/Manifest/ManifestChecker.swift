import HubLoader
import Logging

/// `orderhub check`: validates a manifest and every plugin it names without serving:
/// the file exists, its sha256 matches, its ABI is compatible, it is the kind the slot
/// says, and its create() accepts the config. Every problem comes back with a position.
public enum ManifestChecker {
    public static func check(path: String, logger: Logger) -> [ManifestError.Problem] {
        let manifest: Manifest
        do {
            manifest = try ManifestParser.load(path: path)
        } catch {
            return error.problems
        }
        var problems: [ManifestError.Problem] = []
        for spec in manifest.plugins {
            let library: PluginLibrary
            do {
                library = try PluginSet.open(spec)
            } catch {
                let position = error.code == .checksumMismatch ? spec.sha256Position ?? spec.libraryPosition : spec.libraryPosition
                problems.append(.init(position: position, message: "plugins.\(spec.slot): \(error.message) (\(error.path))"))
                continue
            }
            let context = HostContext(slot: spec.slot, config: spec.effectiveConfig(manifestDirectory: manifest.directory), logger: logger, metrics: MetricsRegistry(), backend: nil)
            do {
                let instance = try PluginInstance(library: library, context: context, configJSON: spec.configJSON(manifestDirectory: manifest.directory))
                instance.destroy()
            } catch {
                let place = error.code == .createFailed ? "plugins.\(spec.slot).config" : "plugins.\(spec.slot)"
                problems.append(.init(position: spec.position, message: "\(place): \(error.message)"))
            }
        }
        return problems
    }
}
