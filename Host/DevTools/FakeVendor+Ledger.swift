import HubJSON

extension FakeVendor {
    /// What happened at the vendors, for asserting "nothing lost, nothing doubled" after a run.
    public struct Ledger: Sendable {
        /// Every vendor API request (admin `/_` endpoints excluded), faulted ones included.
        public internal(set) var requests = 0
        /// Injected request faults by kind name (`Fault.name`).
        public internal(set) var faultsInjected: [String: Int] = [:]
        /// Records created per reference; a good run ends at exactly 1 for every reference.
        public internal(set) var effects: [Vendor: [String: Int]] = [:]
        /// Creates answered from an earlier answer because their Idempotency-Key was seen.
        public internal(set) var replayedByKey = 0
        /// Creates refused with 422 because the reference existed under another key (double dispatch).
        public internal(set) var duplicateReferenceAttempts = 0
        public internal(set) var tokensIssued = 0
        /// Callback HTTP attempts, retries included.
        public internal(set) var callbacksSent = 0
        /// Callback attempts answered 2xx.
        public internal(set) var callbacksDelivered = 0
        /// Callbacks given up on a non-retryable 4xx (codes in `refusedStatusCodes`).
        public internal(set) var callbacksRefused = 0
        /// Callbacks given up after the last retry (5xx, 429 or connection errors throughout).
        public internal(set) var callbacksAbandoned = 0
        public internal(set) var callbacksLost = 0
        public internal(set) var callbacksDuplicated = 0
        public internal(set) var callbacksReordered = 0
        public internal(set) var refusedStatusCodes: [Int: Int] = [:]

        /// References with more than one record, per vendor (empty in a good run).
        public var duplicatedEffects: [Vendor: [String]] {
            effects.mapValues { counts in counts.filter { $0.value > 1 }.keys.sorted() }.filter { !$0.value.isEmpty }
        }

        /// The ledger as JSON (`GET /_ledger`).
        var json: [UInt8] {
            var writer = JSONWriter(capacity: 4096)
            writer.object { o in
                o.field("requests", requests)
                o.object("faults_injected") { f in
                    for (kind, count) in faultsInjected.sorted(by: { $0.key < $1.key }) { f.field(kind, count) }
                }
                o.field("replayed_by_key", replayedByKey)
                o.field("duplicate_reference_attempts", duplicateReferenceAttempts)
                o.field("tokens_issued", tokensIssued)
                writeCallbacks(&o)
                writeEffects(&o)
            }
            return writer.bytes
        }

        private func writeCallbacks(_ o: inout JSONWriter.ObjectWriter) {
            o.object("callbacks") { c in
                c.field("sent", callbacksSent)
                c.field("delivered", callbacksDelivered)
                c.field("refused", callbacksRefused)
                c.field("abandoned", callbacksAbandoned)
                c.field("lost", callbacksLost)
                c.field("duplicated", callbacksDuplicated)
                c.field("reordered", callbacksReordered)
                c.object("refused_status_codes") { r in
                    for (code, count) in refusedStatusCodes.sorted(by: { $0.key < $1.key }) {
                        r.field(String(code), count)
                    }
                }
            }
        }

        private func writeEffects(_ o: inout JSONWriter.ObjectWriter) {
            o.object("effects") { e in
                for vendor in Vendor.allCases {
                    let counts = effects[vendor] ?? [:]
                    e.object(vendor.rawValue) { v in
                        v.field("references", counts.count)
                        v.array("duplicated") { d in
                            for reference in counts.filter({ $0.value > 1 }).keys.sorted() { d.element(reference) }
                        }
                        v.object("records") { r in
                            for (reference, count) in counts.sorted(by: { $0.key < $1.key }) {
                                r.field(reference, count)
                            }
                        }
                    }
                }
            }
        }
    }
}
