import Dispatch
import HubPluginKit
import Synchronization

/// The live model and an optional shadow candidate, switched atomically while orders are
/// scored. A model directory is either one model (model.txt/json + features.json ...), or a
/// store of versions: `versions/<version>/` folders plus a `CURRENT` file naming the live one
/// and, optionally, a `CANDIDATE` file naming one to score in shadow. `orderhub model
/// publish|rollback|shadow` edit those files; a watcher reloads within a second, and keeps
/// the old model if the new one does not load (the reason goes to the log).
final class ModelStore: Sendable {
    struct Models: Sendable {
        let live: ModelBundle
        let candidate: ModelBundle?
        let liveName: String
        let candidateName: String
    }

    let root: String
    let versioned: Bool
    private let models: Mutex<Models>
    private let stopping = Atomic<Bool>(false)
    private let log: @Sendable (String) -> Void

    init(root: String, log: @escaping @Sendable (String) -> Void) throws(PluginError) {
        self.root = root
        self.log = log
        versioned = (try? PluginFiles.read(root + "/CURRENT")) != nil
        let live = versioned ? Self.pointer(root, "CURRENT") : ""
        let bundle = try ModelBundle(directory: versioned ? "\(root)/versions/\(live)" : root)
        let candidateName = versioned ? Self.pointer(root, "CANDIDATE") : ""
        let candidate = candidateName.isEmpty ? nil : try? ModelBundle(directory: "\(root)/versions/\(candidateName)")
        models = Mutex(Models(live: bundle, candidate: candidate, liveName: live, candidateName: candidate == nil ? "" : candidateName))
        if versioned { watch() }
    }

    var current: Models { models.withLock { $0 } }

    func stop() { stopping.store(true, ordering: .releasing) }

    private static func pointer(_ root: String, _ file: String) -> String {
        guard let bytes = try? PluginFiles.read(root + "/" + file) else { return "" }
        return String(decoding: bytes, as: UTF8.self).filter { !$0.isWhitespace }
    }

    /// Polls CURRENT and CANDIDATE once a second on its own queue (never on a scoring call).
    private func watch() {
        DispatchQueue(label: "orderhub.predictor.trees.watch").asyncAfter(deadline: .now() + .milliseconds(250)) { [self] in
            guard !stopping.load(ordering: .acquiring) else { return }
            reloadIfChanged()
            watch()
        }
    }

    func reloadIfChanged() {
        let now = models.withLock { $0 }
        let liveName = Self.pointer(root, "CURRENT")
        let candidateName = Self.pointer(root, "CANDIDATE")
        guard liveName != now.liveName || candidateName != now.candidateName else { return }
        var live = now.live
        if liveName != now.liveName {
            do throws(PluginError) {
                live = try ModelBundle(directory: "\(root)/versions/\(liveName)")
                log("model \(live.name): live version is now \(liveName) (was \(now.liveName))")
            } catch {
                log("model: version \(liveName) not published, keeping \(now.liveName): \(error.message)")
                return
            }
        }
        var candidate: ModelBundle?
        if !candidateName.isEmpty {
            candidate = candidateName == now.candidateName ? now.candidate : try? ModelBundle(directory: "\(root)/versions/\(candidateName)")
            if candidate == nil { log("model: candidate \(candidateName) could not be loaded; no shadow scoring") }
        }
        let next = Models(live: live, candidate: candidate, liveName: liveName, candidateName: candidate == nil ? "" : candidateName)
        models.withLock { $0 = next }
    }
}
