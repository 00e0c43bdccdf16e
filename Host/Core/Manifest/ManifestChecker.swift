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
        if let file = manifest.admin.tokensFile {
            do throws(AccessControl.FileError) { _ = try AccessControl(tokensFile: file) } catch {
                problems.append(.init(position: manifest.admin.position ?? .init(file: path, line: 1, column: 1), message: "admin.tokens_file: \(error)"))
            }
        }
        // Each slot's library, and its canary's (checked the same way, named as such).
        let checked = manifest.plugins.flatMap { spec -> [(spec: Manifest.Plugin, place: String, at: Manifest.Position?)] in
            [(spec, "plugins.\(spec.slot)", nil)] + (spec.canarySpec.map { [($0, "plugins.\(spec.slot).canary", spec.canary?.position)] } ?? [])
        }
        for (spec, place, at) in checked {
            let library: PluginLibrary
            do {
                library = try PluginSet.open(spec)
            } catch {
                let position = at ?? (error.code == .checksumMismatch ? spec.sha256Position ?? spec.libraryPosition : spec.libraryPosition)
                problems.append(.init(position: position, message: "\(place): \(error.message) (\(error.path))"))
                continue
            }
            let context = HostContext(slot: spec.slot, config: spec.effectiveConfig(manifestDirectory: manifest.directory), logger: logger, metrics: MetricsRegistry(), backend: nil)
            do {
                let instance = try PluginInstance(library: library, context: context, configJSON: spec.configJSON(manifestDirectory: manifest.directory))
                instance.destroy()
            } catch {
                let named = error.code == .createFailed ? "\(place).config" : place
                problems.append(.init(position: at ?? spec.position, message: "\(named): \(error.message)"))
            }
        }
        return problems
    }
}
