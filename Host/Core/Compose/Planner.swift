import HubJSON
import HubLoader
import Logging

/// Compares the running hub with a manifest and lists the changes, checking each new
/// library the way `orderhub check` does (checksum, ABI, kind, version range, and a trial
/// create with the new config) so that a plan that says it can be applied can be.
final class Planner {
    let running: Manifest
    let slots: PluginSet
    let access: AccessControl
    let logger: Logger
    /// A dry run also creates each new instance with the limited host API (like `orderhub
    /// check`) to report a refused config; apply skips that (it creates the real instance
    /// before changing anything, which reports the same refusal).
    let trialCreate: Bool
    /// Libraries opened while planning, by path (apply creates from them: hashed once).
    private(set) var opened: [String: PluginLibrary] = [:]

    init(running: Manifest, slots: PluginSet, access: AccessControl, logger: Logger, trialCreate: Bool) {
        self.running = running
        self.slots = slots
        self.access = access
        self.logger = logger
        self.trialCreate = trialCreate
    }

    func plan(_ next: Manifest) -> CompositionPlan {
        var changes: [CompositionPlan.Change] = []
        var refusals: [ManifestError.Problem] = []
        func refuse(_ at: Manifest.Position, _ message: String) { refusals.append(.init(position: at, message: message)) }

        for spec in next.plugins {
            guard let old = running.plugin(spec.slot) else {
                if spec.kind == .stateBus {
                    refuse(spec.position, "plugins.\(spec.slot): the state bus cannot be added or replaced live; restart the hub with this manifest (docs/operations.md, \"Changing the state bus\")")
                    continue
                }
                if spec.kind == .connector && slots.bus.sharedByNodes {
                    refuse(spec.position, "plugins.\(spec.slot): on a bus several hub nodes share, connectors are added by restarting the nodes with this manifest (each connector's dispatch lease is set up at start; docs/scale-out.md)")
                    continue
                }
                if let problem = trial(spec, next) { refusals.append(problem); continue }
                changes.append(.init(action: .load, slot: spec.slot, from: nil, to: describe(spec), detail: spec.kind.name))
                if spec.canary != nil, let canary = spec.canarySpec {
                    if let problem = trial(canary, next, at: spec.canary!.position, place: "plugins.\(spec.slot).canary") { refusals.append(problem); continue }
                    changes.append(.init(action: .canaryStart, slot: spec.slot, from: nil, to: describe(canary), detail: "\(spec.canary!.percent)% of orders"))
                }
                continue
            }
            if old.kind != spec.kind {
                refuse(spec.position, "plugins.\(spec.slot): kind changes from \(old.kind.name) to \(spec.kind.name); a slot keeps its kind (add a new slot and remove this one)")
                continue
            }
            if spec.kind == .stateBus {
                if old.library != spec.library || old.sha256 != spec.sha256 || old.config != spec.config {
                    refuse(spec.position, "plugins.\(spec.slot): the state bus is changed by a restart, not live (every order's log and the outbox live in it); stop the hub and start it with this manifest: nothing acknowledged is lost (docs/operations.md, \"Changing the state bus\")")
                }
                continue
            }
            if spec.kind == .connector {
                var changed: [String] = []
                if old.subscribes != spec.subscribes { changed.append("subscribes") }
                if old.retry != spec.retry { changed.append("retry") }
                if old.connector != spec.connector { changed.append("concurrency/circuit/reconcile") }
                if !changed.isEmpty {
                    refuse(spec.position, "plugins.\(spec.slot): \(changed.joined(separator: ", ")) of a connector take effect at the next start (the dispatcher's queue and workers are built from them); apply without them, or restart")
                }
            }
            planSlot(old: old, new: spec, next: next, changes: &changes, refusals: &refusals)
        }
        for old in running.plugins where next.plugin(old.slot) == nil {
            if old.kind == .stateBus { continue }  // the parser insists on a bus; a different name is refused above
            if old.kind == .connector && slots.bus.sharedByNodes {
                refuse(Manifest.Position(file: next.path, line: 1, column: 1), "plugins.\(old.slot): on a bus several hub nodes share, connectors are removed by restarting the nodes with this manifest (docs/scale-out.md)")
                continue
            }
            changes.append(.init(action: .remove, slot: old.slot, from: describe(old), to: nil, detail: old.kind.name))
        }
        if running.pipeline != next.pipeline {
            changes.append(.init(action: .pipeline, slot: "pipeline", from: "[" + running.pipeline.joined(separator: ", ") + "]",
                                 to: "[" + next.pipeline.joined(separator: ", ") + "]", detail: ""))
        }
        if running.listen != next.listen {
            refuse(Manifest.Position(file: next.path, line: 1, column: 1), "listen: changes from \(running.listen ?? "the default") to \(next.listen ?? "the default") at the next start only")
        }
        if running.fulfillmentHealth != next.fulfillmentHealth {
            refuse(Manifest.Position(file: next.path, line: 1, column: 1), "fulfillment_health: limits change at the next start only")
        }
        let adminAt = next.admin.position ?? Manifest.Position(file: next.path, line: 1, column: 1)
        let environment = AccessControl.environmentTokens
        if let file = next.admin.tokensFile {
            do throws(AccessControl.FileError) {
                let fresh = try AccessControl(tokensFile: file, environment: environment)
                if running.admin.tokensFile != file || fresh.fingerprint != access.fingerprint {
                    changes.append(.init(action: .admin, slot: "admin", from: running.admin.tokensFile, to: file, detail: "\(fresh.count) token(s) read again"))
                }
            } catch {
                refuse(adminAt, "admin.tokens_file: \(error)")
            }
        } else if running.admin.tokensFile != nil && environment == nil {
            refuse(adminAt, "admin: without tokens_file the API would be open to every caller; that takes a restart (docs/operations.md, \"Tokens and roles\")")
        }
        return CompositionPlan(manifest: next, changes: changes, refusals: refusals)
    }

    private func planSlot(old: Manifest.Plugin, new spec: Manifest.Plugin, next: Manifest,
                          changes: inout [CompositionPlan.Change], refusals: inout [ManifestError.Problem]) {
        let live = slots.slot(spec.slot)?.current
        let sameLibrary = { (a: Manifest.Plugin, b: Manifest.Plugin) in a.library == b.library && a.sha256 == b.sha256 }
        // A canary that ends: promoted when the slot now names the canary's library, rolled
        // back when it still names the primary's.
        if let oldCanary = old.canarySpec, spec.canary == nil || !sameLibrary(spec.canarySpec!, oldCanary) {
            if sameLibrary(spec, oldCanary) && spec.config == oldCanary.config {
                changes.append(.init(action: .canaryPromote, slot: spec.slot, from: describe(old), to: describe(oldCanary), detail: "state handed over"))
                addCanary(spec, next, changes: &changes, refusals: &refusals)
                if old.fields != spec.fields { changes.append(.init(action: .regrant, slot: spec.slot, from: fields(old), to: fields(spec), detail: "")) }
                return
            }
            changes.append(.init(action: .canaryRollback, slot: spec.slot, from: describe(oldCanary), to: nil, detail: "every order back to \(describe(old))"))
        }
        if !sameLibrary(old, spec) || old.config != spec.config || old.isolation != spec.isolation || old.callTimeoutMillis != spec.callTimeoutMillis {
            if let problem = trial(spec, next) { refusals.append(problem); return }
            let action: CompositionPlan.Action = sameLibrary(old, spec) ? .reconfigure : .swap
            let exports = live?.primary.supportsStateExport == true
            if exports, let next = opened[spec.library], !next.importsState, let primary = live?.primary {
                refusals.append(.init(position: spec.libraryPosition, message: "plugins.\(spec.slot): \(primary.descriptor.id) \(primary.descriptor.version) hands over state but \(next.descriptor.id) \(next.descriptor.version) cannot take it (no import_state); its state would be lost"))
                return
            }
            changes.append(.init(action: action, slot: spec.slot, from: describe(old), to: describe(spec),
                                 detail: exports ? "state handed over" : "no state to hand over"))
        } else if let range = spec.versionRange, let live, let version = SemanticVersion(live.primary.descriptor.version), !range.contains(version) {
            refusals.append(.init(position: spec.position, message: "plugins.\(spec.slot).version: the running \(live.primary.descriptor.id) \(version) is outside '\(range)'; name a library in range"))
        }
        if let canary = spec.canary, let oldCanary = old.canary, sameLibrary(spec.canarySpec!, old.canarySpec!) && canary.config == oldCanary.config {
            if canary.percent != oldCanary.percent {
                changes.append(.init(action: .canaryPercent, slot: spec.slot, from: "\(oldCanary.percent)%", to: "\(canary.percent)%", detail: ""))
            }
        } else {
            addCanary(spec, next, changes: &changes, refusals: &refusals)
        }
        if old.fields != spec.fields { changes.append(.init(action: .regrant, slot: spec.slot, from: fields(old), to: fields(spec), detail: "")) }
    }

    private func addCanary(_ spec: Manifest.Plugin, _ next: Manifest, changes: inout [CompositionPlan.Change], refusals: inout [ManifestError.Problem]) {
        guard let canary = spec.canary, let canarySpec = spec.canarySpec else { return }
        if let problem = trial(canarySpec, next, at: canary.position, place: "plugins.\(spec.slot).canary") { refusals.append(problem); return }
        changes.append(.init(action: .canaryStart, slot: spec.slot, from: nil, to: describe(canarySpec), detail: "\(canary.percent)% of orders, seeded with the primary's state"))
    }

    /// Opens the library (checksum, ABI, kind, version range) and creates an instance with
    /// the limited host API, as `orderhub check` does; nil when both work.
    private func trial(_ spec: Manifest.Plugin, _ manifest: Manifest, at position: Manifest.Position? = nil, place: String? = nil) -> ManifestError.Problem? {
        let place = place ?? "plugins.\(spec.slot)"
        if spec.isolation == .process { return isolatedTrial(spec, manifest, at: position, place: place) }
        let library: PluginLibrary
        do { library = try PluginSet.open(spec) } catch {
            return .init(position: position ?? (error.code == .checksumMismatch ? spec.sha256Position ?? spec.libraryPosition : spec.libraryPosition),
                         message: "\(place): \(error.message) (\(error.path))")
        }
        opened[spec.library] = library
        guard trialCreate else { return nil }
        let context = HostContext(slot: spec.slot, config: spec.effectiveConfig(manifestDirectory: manifest.directory), logger: logger,
                                  metrics: MetricsRegistry(), backend: nil)
        do {
            let instance = try PluginInstance(library: library, context: context, configJSON: spec.configJSON(manifestDirectory: manifest.directory))
            instance.destroy()
        } catch {
            return .init(position: position ?? spec.position, message: "\(place).config: \(error.message)")
        }
        return nil
    }

    /// An isolated slot's library is never opened in the hub, not even to plan: the checks
    /// (and, for a dry run, the trial create) run in a throwaway worker; apply's own create
    /// runs in the slot's real worker and checks kind and version range there.
    private func isolatedTrial(_ spec: Manifest.Plugin, _ manifest: Manifest, at position: Manifest.Position?, place: String) -> ManifestError.Problem? {
        guard trialCreate else { return nil }
        do {
            let trial = try PluginSet.make(spec, manifest: manifest, metrics: MetricsRegistry(), logger: logger, backend: nil)
            trial.destroy()
        } catch {
            let named = error.code == .createFailed ? "\(place).config" : place
            let at = error.code == .checksumMismatch ? spec.sha256Position ?? spec.libraryPosition : spec.position
            return .init(position: position ?? at, message: "\(named): \(error.message)")
        }
        return nil
    }

    /// "id version (sha256 prefix)": from the library opened while planning, or the one a
    /// live instance was made from (no file is read or hashed again).
    func describe(_ spec: Manifest.Plugin) -> String {
        if let library = opened[spec.library] {
            return "\(library.descriptor.id) \(library.descriptor.version) (\(library.sha256.prefix(12)))"
        }
        guard let live = slots.slot(spec.slot).flatMap({ slot in slot.instances.first { $0.libraryPath == spec.library } }) else { return spec.library }
        return "\(live.descriptor.id) \(live.descriptor.version) (\(live.sha256.prefix(12)))"
    }

    private func fields(_ spec: Manifest.Plugin) -> String { spec.fields.map { "[" + $0.joined(separator: ", ") + "]" } ?? "all fields" }
}
