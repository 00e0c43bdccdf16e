import HubLoader
import Synchronization

/// Idempotency keys seen by this process: in flight or answered. Keys from before a
/// restart are found in the bus (its idempotency records are written with the order).
final class IdempotencyTable: Sendable {
    enum Entry: Sendable {
        case inFlight(fingerprint: String)
        case answered(fingerprint: String, response: [UInt8])
    }
    enum Claim: Sendable {
        case claimed
        case replay(response: [UInt8])
        case conflict(String)
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let capacity = 100_000

    func claim(_ key: String, fingerprint: String) -> Claim {
        entries.withLock { all in
            switch all[key] {
            case nil:
                if all.count >= capacity { all = all.filter { if case .inFlight = $0.value { true } else { false } } }
                all[key] = .inFlight(fingerprint: fingerprint)
                return .claimed
            case .inFlight:
                return .conflict("a request with this Idempotency-Key is still being processed; retry shortly")
            case .answered(let known, let response):
                return known == fingerprint ? .replay(response: response)
                    : .conflict("this Idempotency-Key was used with a different request body")
            }
        }
    }

    func answer(_ key: String, fingerprint: String, response: [UInt8]) {
        entries.withLock { $0[key] = .answered(fingerprint: fingerprint, response: response) }
    }

    func release(_ key: String) { _ = entries.withLock { $0.removeValue(forKey: key) } }
}
