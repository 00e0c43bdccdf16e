import ArgumentParser
import Foundation
import HubCore
import HubLoader
import HubModelRuntime

#if canImport(Glibc)
import Glibc
#endif

/// `orderhub bench-model`: our LightGBM scorer against LightGBM's own C API, same model, same
/// rows, same process: single-row latency and batch rows/s. Figures, not a timed test.
struct BenchModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-model",
        abstract: "Score rows with the Swift model runtime and, if lib_lightgbm.so is given, with LightGBM's C API.")

    @Option(name: .long, help: "LightGBM text model (save_model output).")
    var model: String

    @Option(name: .long, help: "CSV of feature rows (header first; the first N columns are the model's features).")
    var rows: String

    @Option(name: .long, help: "Path to lib_lightgbm.so (from the lightgbm wheel) to compare with; omitted = Swift only.")
    var lightgbm: String?

    @Option(name: .long, help: "Scoring passes over the rows.")
    var passes: Int = 200

    func run() throws {
        let text = try String(contentsOfFile: model, encoding: .utf8)
        let booster: LightGBMModel
        do { booster = try LightGBMModel(text: text) } catch {
            throw ValidationError("\(model): \(error)")
        }
        let width = booster.featureNames.count
        let table = try String(contentsOfFile: rows, encoding: .utf8).split(whereSeparator: \.isNewline).dropFirst()
            .map { Array($0.split(separator: ",").prefix(width).map { Double($0) ?? .nan }) }
        guard !table.isEmpty, table.allSatisfy({ $0.count == width }) else { throw ValidationError("\(rows): need rows of \(width) features") }
        Output.out("model: \(booster.treeCount) trees, \(width) features; \(table.count) rows × \(passes) passes")
        let swift = measure(table) { booster.rawScore($0) }
        report("Swift runtime", swift)
        if let lightgbm {
            let native = try LightGBMCAPI(library: lightgbm, model: model, features: width)
            let reference = measure(table) { native.predict($0) }
            report("LightGBM C API", reference)
            let worst = table.map { abs(booster.rawScore($0) - native.predict($0)) }.max() ?? 0
            Output.out("  same scores: largest difference \(worst)")
            Output.out("  single-row p50 ratio (LightGBM / Swift): \(String(format2: reference.p50 / max(swift.p50, 1e-9)))×")
            let batch = native.batchRowsPerSecond(table, passes: passes)
            Output.out("  batch: Swift \(Int(swift.rowsPerSecond)) rows/s vs LightGBM (1 thread, PredictForMat) \(Int(batch)) rows/s")
        }
    }

    struct Figures {
        let p50: Double
        let p99: Double
        let rowsPerSecond: Double
    }

    private func measure(_ table: [[Double]], _ score: ([Double]) -> Double) -> Figures {
        var sink = 0.0
        for row in table { sink += score(row) }  // warm-up
        var samples: [Double] = []
        samples.reserveCapacity(table.count * passes)
        let start = Clock.monotonicNanos()
        for _ in 0..<passes {
            for row in table {
                let t0 = Clock.monotonicNanos()
                sink += score(row)
                samples.append(Double(Clock.monotonicNanos() - t0) / 1000)
            }
        }
        let seconds = Double(Clock.monotonicNanos() - start) / 1e9
        if sink == .infinity { Output.out("") }
        samples.sort()
        return Figures(p50: samples[samples.count / 2], p99: samples[samples.count * 99 / 100],
                       rowsPerSecond: Double(samples.count) / seconds)
    }

    private func report(_ name: String, _ f: Figures) {
        Output.out("  \(name): single row p50 \(String(format2: f.p50)) µs, p99 \(String(format2: f.p99)) µs; \(Int(f.rowsPerSecond)) rows/s one at a time")
    }
}

/// LightGBM's C API, opened from its shared library at run time (only for the comparison).
final class LightGBMCAPI {
    typealias CreateFromFile = @convention(c) (UnsafePointer<CChar>, UnsafeMutablePointer<Int32>, UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> Int32
    typealias FastInit = @convention(c) (UnsafeMutableRawPointer?, Int32, Int32, Int32, Int32, Int32, UnsafePointer<CChar>, UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> Int32
    typealias Fast = @convention(c) (UnsafeMutableRawPointer?, UnsafeRawPointer, UnsafeMutablePointer<Int64>, UnsafeMutablePointer<Double>) -> Int32
    typealias ForMat = @convention(c) (UnsafeMutableRawPointer?, UnsafeRawPointer, Int32, Int32, Int32, Int32, Int32, Int32, Int32, UnsafePointer<CChar>, UnsafeMutablePointer<Int64>, UnsafeMutablePointer<Double>) -> Int32

    private let fast: Fast
    private let forMat: ForMat
    private let booster: UnsafeMutableRawPointer?
    private let config: UnsafeMutableRawPointer?
    private let features: Int

    init(library: String, model: String, features: Int) throws {
        guard let handle = dlopen(library, RTLD_NOW | RTLD_LOCAL) else {
            throw ValidationError("--lightgbm \(library): \(String(cString: dlerror()))")
        }
        func symbol<T>(_ name: String, _ type: T.Type) throws -> T {
            guard let pointer = dlsym(handle, name) else { throw ValidationError("\(library): no symbol \(name)") }
            return unsafeBitCast(pointer, to: type)
        }
        let create = try symbol("LGBM_BoosterCreateFromModelfile", CreateFromFile.self)
        let fastInit = try symbol("LGBM_BoosterPredictForMatSingleRowFastInit", FastInit.self)
        fast = try symbol("LGBM_BoosterPredictForMatSingleRowFast", Fast.self)
        forMat = try symbol("LGBM_BoosterPredictForMat", ForMat.self)
        self.features = features
        var iterations: Int32 = 0
        var booster: UnsafeMutableRawPointer?
        guard create(model, &iterations, &booster) == 0 else { throw ValidationError("LightGBM could not load \(model)") }
        self.booster = booster
        var config: UnsafeMutableRawPointer?
        // predict_type 1 = raw score, data_type 1 = float64.
        guard fastInit(booster, 1, 0, -1, 1, Int32(features), "num_threads=1", &config) == 0 else {
            throw ValidationError("LGBM_BoosterPredictForMatSingleRowFastInit failed")
        }
        self.config = config
    }

    func predict(_ row: [Double]) -> Double {
        var length: Int64 = 0
        var out = 0.0
        _ = row.withUnsafeBytes { fast(config, $0.baseAddress!, &length, &out) }
        return out
    }

    func batchRowsPerSecond(_ table: [[Double]], passes: Int) -> Double {
        let flat = table.flatMap { $0 }
        var out = [Double](repeating: 0, count: table.count)
        var length: Int64 = 0
        let start = Clock.monotonicNanos()
        for _ in 0..<passes {
            _ = flat.withUnsafeBytes { data in
                out.withUnsafeMutableBufferPointer {
                    forMat(booster, data.baseAddress!, 1, Int32(table.count), Int32(features), 1, 1, 0, -1, "num_threads=1", &length, $0.baseAddress!)
                }
            }
        }
        return Double(table.count * passes) / (Double(Clock.monotonicNanos() - start) / 1e9)
    }
}
