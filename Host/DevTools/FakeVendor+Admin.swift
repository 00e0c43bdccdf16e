import HubJSON
import NIOHTTP1

/// Admin endpoints, so a person can break the vendors from the shell:
///
/// ```
/// curl -d '{"rate":0.2,"kinds":["503","429","delay:200","timeout:3000","reset","reset_after_effect",
///   "timeout_after_effect:3000"],"callbacks":{"lost":0.05,"duplicate":0.05,"reorder":0.05},"seed":1}' \
///   http://127.0.0.1:9090/_faults
/// curl http://127.0.0.1:9090/_ledger
/// ```
extension FakeVendor {
    func admin(_ request: VendorRequest) -> VendorReply {
        switch (request.method, request.path) {
        case (.GET, "/_ledger"): return .json(200, ledger().json)
        case (.POST, "/_faults"): return configureFaults(request.body)
        default: return .notFound
        }
    }

    /// `rate` with `kinds` (all kinds when absent) sets random faults; `next` queues faults for the
    /// next requests; `callbacks` sets webhook faults. `seed` (default 1) seeds both generators.
    private func configureFaults(_ body: [UInt8]) -> VendorReply {
        guard let json = try? JSONParser.parse(body), json.objectValue != nil else {
            return .error(400, "body must be a JSON object")
        }
        let seed = (json["seed"]?.intValue).map { UInt64(bitPattern: $0) } ?? 1
        guard let kinds = Self.faults(json["kinds"]), let next = Self.faults(json["next"]) else {
            let known = "503, 429, delay:MS, timeout:MS, reset, reset_after_effect, timeout_after_effect:MS"
            return .error(400, "unknown fault kind: use \(known)")
        }
        if let rate = json["rate"]?.doubleValue {
            setRandomFaults(rate: rate, kinds: kinds.isEmpty ? Fault.all(timeoutMillis: 3000) : kinds, seed: seed)
        }
        inject(next)
        if let callbacks = json["callbacks"] {
            setCallbackFaults(
                CallbackFaults(
                    lost: callbacks["lost"]?.doubleValue ?? 0, duplicate: callbacks["duplicate"]?.doubleValue ?? 0,
                    reorder: callbacks["reorder"]?.doubleValue ?? 0, seed: seed))
        }
        return .json(202, Array(#"{"ok":true}"#.utf8))
    }

    /// Fault specs from a JSON array: empty when absent, nil when one is not understood.
    private static func faults(_ value: JSONValue?) -> [Fault]? {
        var result: [Fault] = []
        for spec in value?.arrayValue ?? [] {
            guard let text = spec.stringValue, let fault = Fault(spec: text) else { return nil }
            result.append(fault)
        }
        return result
    }
}
