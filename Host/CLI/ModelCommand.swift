import ArgumentParser
import Foundation
import HubModelRuntime

/// `orderhub model`: a model store's versions — add, publish, roll back, shadow. A running
/// trees predictor whose `model_dir` is the store picks a change up within a second, without
/// a restart (plugins/PredictorTrees/ModelStore.swift).
struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model", abstract: "Manage a model store: versions/<v>/ folders, CURRENT (live) and CANDIDATE (shadow).",
        subcommands: [Add.self, Publish.self, Rollback.self, Shadow.self, Status.self])

    struct Store {
        let root: String
        var versions: String { root + "/versions" }

        func read(_ file: String) -> String {
            ((try? String(contentsOfFile: root + "/" + file, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// Write-then-rename, so a watcher never reads half a file.
        func write(_ file: String, _ text: String) throws {
            let temporary = root + "/." + file + ".tmp"
            try text.write(toFile: temporary, atomically: false, encoding: .utf8)
            _ = rename(temporary, root + "/" + file)
        }

        /// Loads a version as the predictor would; the error says why it cannot go live.
        func validate(_ version: String) throws {
            let directory = versions + "/" + version
            guard FileManager.default.fileExists(atPath: directory) else { throw ValidationError("\(directory): no such version") }
            let spec = try loadSpec(directory + "/features.json")
            let scorer = try ModelDirectory.load(directory)
            guard scorer.featureNames.isEmpty || scorer.featureNames == spec.names else {
                throw ValidationError("\(directory): features.json lists \(spec.names) but the model expects \(scorer.featureNames)")
            }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Copy a trained model directory into the store as a version.")
        @Option(name: .long, help: "The model store.") var dir: String
        @Option(name: .long, help: "Trained model directory (model.txt|model.json, features.json, metrics.json, neighbours.csv).") var from: String
        @Option(name: .long, help: "Version name.") var version: String

        func run() throws {
            let store = Store(root: dir)
            let target = store.versions + "/" + version
            guard !FileManager.default.fileExists(atPath: target) else { throw ValidationError("\(target) exists: versions are immutable") }
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
            for file in ["model.txt", "model.json", "features.json", "metrics.json", "neighbours.csv"]
            where FileManager.default.fileExists(atPath: from + "/" + file) {
                try FileManager.default.copyItem(atPath: from + "/" + file, toPath: target + "/" + file)
            }
            try store.validate(version)
            Output.out("\(dir): added version \(version)")
        }
    }

    struct Publish: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a version live (checked first; the previous one is kept for rollback).")
        @Option(name: .long, help: "The model store.") var dir: String
        @Option(name: .long, help: "Version to make live.") var version: String

        func run() throws {
            let store = Store(root: dir)
            try store.validate(version)
            let previous = store.read("CURRENT")
            if !previous.isEmpty && previous != version { try store.write("HISTORY", store.read("HISTORY") + previous + "\n") }
            try store.write("CURRENT", version + "\n")
            Output.out("\(dir): live version \(version)\(previous.isEmpty ? "" : " (was \(previous))")")
        }
    }

    struct Rollback: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make the previously live version live again.")
        @Option(name: .long, help: "The model store.") var dir: String

        func run() throws {
            let store = Store(root: dir)
            var history = store.read("HISTORY").split(separator: "\n").map(String.init)
            guard let previous = history.popLast() else { throw ValidationError("\(dir): nothing to roll back to") }
            try store.validate(previous)
            try store.write("HISTORY", history.map { $0 + "\n" }.joined())
            try store.write("CURRENT", previous + "\n")
            Output.out("\(dir): rolled back to \(previous)")
        }
    }

    struct Shadow: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Score every order with a candidate version too, without acting on it (or --off).")
        @Option(name: .long, help: "The model store.") var dir: String
        @Option(name: .long, help: "Candidate version.") var version: String?
        @Flag(name: .long, help: "Stop shadow scoring.") var off = false

        func run() throws {
            let store = Store(root: dir)
            if off {
                try store.write("CANDIDATE", "")
                Output.out("\(dir): shadow scoring off")
                return
            }
            guard let version else { throw ValidationError("give --version or --off") }
            try store.validate(version)
            try store.write("CANDIDATE", version + "\n")
            Output.out("\(dir): shadow-scoring with \(version)")
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the live version, the candidate and every version.")
        @Option(name: .long, help: "The model store.") var dir: String

        func run() throws {
            let store = Store(root: dir)
            let versions = (try? FileManager.default.contentsOfDirectory(atPath: store.versions))?.sorted() ?? []
            Output.out("live: \(store.read("CURRENT"))\ncandidate: \(store.read("CANDIDATE"))\nversions: \(versions.joined(separator: ", "))")
        }
    }
}
