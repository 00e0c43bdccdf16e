/// One record a vendor created for the hub: a WMS order, a TMS label or a carrier tracker.
struct VendorRecord: Sendable {
    let vendor: FakeVendor.Vendor
    let number: Int
    let reference: String
    let trackingCode: String
    var stage = 0
    var cancelled = false
    /// Status changes so far; numbers the CloudEvents, so each change has its own `ce-id`.
    var changes = 0

    var id: String {
        switch vendor {
        case .wms: return String(number)
        case .tms: return "se-\(number)"
        case .carrier: return "trk_\(number)"
        }
    }

    var status: String { cancelled ? "Cancelled" : vendor.stages[stage] }
    var isFinal: Bool { cancelled || stage == vendor.stages.count - 1 }
}

/// One vendor's records, indexed the ways its API looks them up.
struct VendorBook: Sendable {
    private(set) var records: [VendorRecord] = []
    private var byReference: [String: Int] = [:]
    /// First successful answer per Idempotency-Key, replayed for repeats.
    var replies: [String: VendorReply] = [:]

    func record(reference: String) -> VendorRecord? { byReference[reference].map { records[$0] } }

    func record(number: Int) -> VendorRecord? {
        records.indices.contains(number - 1) ? records[number - 1] : nil
    }

    /// Adds a record; a nil tracking code gets a UPS-style one ("1Z" and the zero-padded number).
    mutating func insert(_ vendor: FakeVendor.Vendor, reference: String, trackingCode: String?) -> VendorRecord {
        let number = records.count + 1
        let digits = String(number)
        let code = trackingCode ?? "1Z" + String(repeating: "0", count: max(0, 16 - digits.count)) + digits
        let record = VendorRecord(vendor: vendor, number: number, reference: reference, trackingCode: code)
        byReference[reference] = records.count
        records.append(record)
        return record
    }

    mutating func update(_ record: VendorRecord) { records[record.number - 1] = record }
}

/// Records waiting for their next status step. Every step is equally long and `now` only grows,
/// so appending keeps the queue in due order and a FIFO is enough.
struct ProgressQueue: Sendable {
    struct Entry: Sendable {
        let vendor: FakeVendor.Vendor
        let number: Int
        let due: ContinuousClock.Instant
    }

    private var entries: [Entry] = []
    private var head = 0

    var isEmpty: Bool { head == entries.count }
    var nextDue: ContinuousClock.Instant? { isEmpty ? nil : entries[head].due }

    mutating func schedule(_ vendor: FakeVendor.Vendor, number: Int, due: ContinuousClock.Instant) {
        entries.append(Entry(vendor: vendor, number: number, due: due))
    }

    mutating func popDue(now: ContinuousClock.Instant) -> Entry? {
        guard head < entries.count, entries[head].due <= now else { return nil }
        let entry = entries[head]
        head += 1
        if head >= 4096, head * 2 >= entries.count {
            entries.removeFirst(head)
            head = 0
        }
        return entry
    }

    mutating func removeAll() {
        entries = []
        head = 0
    }
}

/// Seeded generator (SplitMix64), so a fault run can be replayed exactly.
struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// What `start` created and `stop` tears down.
struct RunningServer: Sendable {
    let server: FakeVendorHTTPServer
    let serving: Task<Void, Never>
    let ticker: Task<Void, Never>?
}

/// Everything the vendors know, behind the one mutex of `FakeVendor` (one lock keeps a record's
/// status changes and their callbacks in the same order).
struct VendorState: Sendable {
    let configuration: FakeVendor.Configuration
    var books: [FakeVendor.Vendor: VendorBook] = [:]
    var ledger = FakeVendor.Ledger()
    var tokens: [String: ContinuousClock.Instant] = [:]
    var queuedFaults: [FakeVendor.Fault] = []
    var faultRate = 0.0
    var faultKinds: [FakeVendor.Fault] = []
    var faultRandom = SplitMix64(seed: 1)
    var callbackTargets: [FakeVendor.Vendor: CallbackTarget] = [:]
    var callbackFaults = FakeVendor.CallbackFaults()
    var callbackRandom = SplitMix64(seed: 1)
    var callbacks = CallbackQueue()
    var callbackWorkers: [Int: Task<Void, Never>] = [:]
    var nextWorkerID = 0
    var progress = ProgressQueue()
    var running: RunningServer?
    var stopped = false

    init(configuration: FakeVendor.Configuration) { self.configuration = configuration }

    var step: Duration { .milliseconds(max(1, configuration.stepMillis)) }
    var isIdle: Bool { progress.isEmpty && callbacks.isIdle }

    /// Counts the request and picks its fault: queued ones first, then the random draw.
    mutating func nextFault() -> FakeVendor.Fault? {
        ledger.requests += 1
        var fault: FakeVendor.Fault?
        if !queuedFaults.isEmpty {
            fault = queuedFaults.removeFirst()
        } else if faultRate > 0, !faultKinds.isEmpty, Double.random(in: 0..<1, using: &faultRandom) < faultRate {
            fault = faultKinds.randomElement(using: &faultRandom)
        }
        if let fault { ledger.faultsInjected[fault.name, default: 0] += 1 }
        return fault
    }

    /// Creates a record unless its key was seen (replay the first answer) or its reference
    /// already exists under another key (422: what a double dispatch looks like).
    mutating func create(
        _ vendor: FakeVendor.Vendor, reference: String, idempotencyKey: String?, trackingCode: String? = nil,
        status: Int, render: (VendorRecord) -> [UInt8]
    ) -> VendorReply {
        let key = idempotencyKey.flatMap { $0.isEmpty ? nil : $0 }
        if let key, let first = books[vendor]?.replies[key] {
            ledger.replayedByKey += 1
            return first
        }
        if books[vendor]?.record(reference: reference) != nil {
            ledger.duplicateReferenceAttempts += 1
            return .error(422, "\(vendor.referenceField) already exists")
        }
        let record = books[vendor, default: VendorBook()]
            .insert(vendor, reference: reference, trackingCode: trackingCode)
        ledger.effects[vendor, default: [:]][reference, default: 0] += 1
        let reply = VendorReply.json(status, render(record))
        if let key { books[vendor, default: VendorBook()].replies[key] = reply }
        recordChanged(record)
        if configuration.progress {
            progress.schedule(vendor, number: record.number, due: ContinuousClock.now + step)
        }
        return reply
    }

    /// Marks a WMS order cancelled (once); cancelled orders stop progressing.
    mutating func cancel(_ vendor: FakeVendor.Vendor, number: Int) -> VendorRecord? {
        guard var record = books[vendor]?.record(number: number) else { return nil }
        if !record.cancelled {
            record.cancelled = true
            record.changes += 1
            books[vendor]?.update(record)
            recordChanged(record)
        }
        return record
    }

    /// Moves every due record one status on; returns how long the ticker may sleep.
    mutating func advanceDueRecords() -> Duration {
        let now = ContinuousClock.now
        while let entry = progress.popDue(now: now) {
            guard var record = books[entry.vendor]?.record(number: entry.number), !record.isFinal else { continue }
            record.stage += 1
            record.changes += 1
            books[entry.vendor]?.update(record)
            recordChanged(record)
            if !record.isFinal { progress.schedule(entry.vendor, number: entry.number, due: now + step) }
        }
        guard let due = progress.nextDue else { return step }
        return max(due - now, .milliseconds(1))
    }

    /// Issues a bearer token valid for the configured lifetime.
    mutating func issueToken() -> String {
        let now = ContinuousClock.now
        if tokens.count > 1000 { tokens = tokens.filter { $0.value > now } }
        let token = HMAC.hex((0..<20).map { _ in UInt8.random(in: 0...255) })
        tokens[token] = now + .seconds(configuration.tokenLifetimeSeconds)
        ledger.tokensIssued += 1
        return token
    }

    func tokenIsValid(_ token: String) -> Bool {
        guard let expiry = tokens[token] else { return false }
        return expiry > ContinuousClock.now
    }
}
