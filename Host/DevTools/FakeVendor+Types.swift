extension FakeVendor {
    /// Credentials and pacing. The defaults match `orderhub dev vendors` and the connector samples.
    public struct Configuration: Sendable {
        /// HMAC secret the WMS checks `X-Signature` against.
        public var wmsSecret: String
        public var tmsClientID: String
        public var tmsClientSecret: String
        public var tokenLifetimeSeconds: Int
        /// Static key the carrier API expects in `X-Api-Key`.
        public var carrierKey: String
        /// Time between two status steps of one record.
        public var stepMillis: Int
        /// False freezes every record at its first status (no steps, no further callbacks).
        public var progress: Bool

        public init(
            wmsSecret: String = "wms-secret", tmsClientID: String = "hub", tmsClientSecret: String = "tms-secret",
            tokenLifetimeSeconds: Int = 3600, carrierKey: String = "carrier-key", stepMillis: Int = 50,
            progress: Bool = true
        ) {
            self.wmsSecret = wmsSecret
            self.tmsClientID = tmsClientID
            self.tmsClientSecret = tmsClientSecret
            self.tokenLifetimeSeconds = tokenLifetimeSeconds
            self.carrierKey = carrierKey
            self.stepMillis = stepMillis
            self.progress = progress
        }
    }

    /// The three systems one server plays: ShipBob-like WMS, ShipEngine-like TMS, EasyPost-like carrier.
    public enum Vendor: String, Sendable, CaseIterable {
        case wms, tms, carrier
    }

    /// CloudEvents HTTP binding: metadata in `ce-` headers, or the whole event as the JSON body.
    public enum CallbackMode: Sendable {
        case binary, structured
    }

    /// Misbehaviour of the vendor API for one request.
    public enum Fault: Sendable, Equatable {
        /// Answer with this status and a short text body; no effect.
        case status(Int)
        /// 429 with `Retry-After`; no effect.
        case tooManyRequests(retryAfterSeconds: Int)
        /// Wait, then handle the request normally.
        case delay(milliseconds: Int)
        /// Hold the request unanswered, then close the connection; no effect.
        case timeout(milliseconds: Int)
        /// Close the connection at once (RST) without answering; no effect.
        case reset
        /// Apply the effect, then close without answering: the client cannot know it worked.
        case resetAfterEffect
        /// Apply the effect, then hold unanswered and close.
        case timeoutAfterEffect(milliseconds: Int)

        /// Every kind, with `timeoutMillis` for the holding ones (longer than the client's timeout).
        public static func all(timeoutMillis: Int) -> [Fault] {
            [
                .status(500), .status(503), .tooManyRequests(retryAfterSeconds: 1), .delay(milliseconds: 200),
                .timeout(milliseconds: timeoutMillis), .reset, .resetAfterEffect,
                .timeoutAfterEffect(milliseconds: timeoutMillis),
            ]
        }

        /// Parses the admin spelling: "503", "429", "429:5", "delay:200", "timeout:3000", "reset",
        /// "reset_after_effect", "timeout_after_effect:3000". Holding kinds default to 3000 ms.
        public init?(spec: String) {
            let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
            let number = parts.count > 1 ? Int(parts[1]) : nil
            switch parts.first ?? "" {
            case "reset": self = .reset
            case "reset_after_effect": self = .resetAfterEffect
            case "delay": self = .delay(milliseconds: number ?? 200)
            case "timeout": self = .timeout(milliseconds: number ?? 3000)
            case "timeout_after_effect": self = .timeoutAfterEffect(milliseconds: number ?? 3000)
            case "429": self = .tooManyRequests(retryAfterSeconds: number ?? 1)
            case let code:
                guard let status = Int(code), (100...599).contains(status) else { return nil }
                self = .status(status)
            }
        }

        /// The kind's name in `Ledger.faultsInjected` (the admin spelling without its number).
        public var name: String {
            switch self {
            case .status(let code): return String(code)
            case .tooManyRequests: return "429"
            case .delay: return "delay"
            case .timeout: return "timeout"
            case .reset: return "reset"
            case .resetAfterEffect: return "reset_after_effect"
            case .timeoutAfterEffect: return "timeout_after_effect"
            }
        }
    }

    /// Webhook misbehaviour, each a probability per status change, drawn from a seeded generator.
    public struct CallbackFaults: Sendable, Equatable {
        /// The status advances but its callback is never sent: only reconciliation finds it.
        public var lost: Double
        /// The same CloudEvent (same `ce-id`) is sent twice.
        public var duplicate: Double
        /// This callback is held back and sent after the record's next one.
        public var reorder: Double
        public var seed: UInt64

        public init(lost: Double = 0, duplicate: Double = 0, reorder: Double = 0, seed: UInt64 = 1) {
            self.lost = lost
            self.duplicate = duplicate
            self.reorder = reorder
            self.seed = seed
        }
    }
}

extension FakeVendor.Vendor {
    /// Status names in the order a record moves through them.
    var stages: [String] {
        switch self {
        case .wms: return ["Processing", "Picked", "Packed", "Shipped"]
        case .tms: return ["AC", "IT", "DE"]
        case .carrier: return ["pre_transit", "in_transit", "out_for_delivery", "delivered"]
        }
    }

    /// The request field that names the hub's record (unique per vendor).
    var referenceField: String {
        switch self {
        case .wms: return "reference_id"
        case .tms: return "external_shipment_id"
        case .carrier: return "reference"
        }
    }

    var eventType: String {
        switch self {
        case .wms: return "com.shipbob.order.status.v1"
        case .tms: return "com.shipengine.tracking.v1"
        case .carrier: return "com.easypost.tracker.updated.v1"
        }
    }

    var eventSource: String { "/vendors/\(rawValue)" }
}
