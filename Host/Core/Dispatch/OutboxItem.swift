import HubLoader

/// One delivery a connector owes: a committed event, and a log offset strictly below the
/// record that holds it. The outbox is the log itself (a dispatch request is committed in the
/// same transaction as the order's state change); `floor` lets the connector's watermark say
/// "everything at or below this offset is settled", so a restart re-reads only the tail.
struct OutboxItem: Sendable {
    var event: BusEvent
    let floor: UInt64
}

/// The delivery queue of one connector: per-order FIFO (an update never overtakes the
/// create, even while the create waits out a backoff), due times for retries, and the
/// watermark below which nothing is pending. Pure state; the Dispatcher locks it.
struct DeliveryQueue {
    struct Job: Sendable {
        let seq: UInt64
        var item: OutboxItem
        var attempt: Int
        var due: UInt64
        var subject: String { item.event.subject }
    }

    private(set) var waiting: [Job] = []
    private var inFlight: [UInt64: Job] = [:]
    private var busySubjects: [String: Int] = [:]
    private var nextSeq: UInt64 = 1
    /// The highest offset routed so far (every event at or below it has been handed to us).
    private(set) var seenUpTo: UInt64

    init(seenUpTo: UInt64) { self.seenUpTo = seenUpTo }

    var count: Int { waiting.count + inFlight.count }
    var isIdle: Bool { waiting.isEmpty && inFlight.isEmpty }

    mutating func add(_ item: OutboxItem) {
        waiting.append(Job(seq: nextSeq, item: item, attempt: 1, due: 0))
        nextSeq += 1
    }

    mutating func observe(committedUpTo offset: UInt64) { seenUpTo = max(seenUpTo, offset) }

    /// The first due job whose order has no earlier job waiting or in flight.
    mutating func take(now: UInt64) -> Job? {
        var blocked = Set<String>()
        for (index, job) in waiting.enumerated() {
            if busySubjects[job.subject] != nil || blocked.contains(job.subject) { continue }
            if job.due <= now {
                waiting.remove(at: index)
                inFlight[job.seq] = job
                busySubjects[job.subject, default: 0] += 1
                return job
            }
            blocked.insert(job.subject)
        }
        return nil
    }

    /// Earliest due time among jobs first in line for their order, or nil when none waits.
    func nextDue() -> UInt64? {
        var seen = Set<String>()
        var earliest: UInt64?
        for job in waiting where busySubjects[job.subject] == nil && seen.insert(job.subject).inserted {
            earliest = min(earliest ?? job.due, job.due)
        }
        return earliest
    }

    /// The job is settled (acknowledged or dead-lettered, and recorded).
    mutating func finish(_ job: Job) {
        inFlight[job.seq] = nil
        if let n = busySubjects[job.subject] { busySubjects[job.subject] = n > 1 ? n - 1 : nil }
    }

    /// The job failed for now: back in its place in line, due later.
    mutating func retry(_ job: Job, due: UInt64) {
        finish(job)
        var again = job
        again.attempt += 1
        again.due = due
        let index = waiting.firstIndex { $0.seq > job.seq } ?? waiting.endIndex
        waiting.insert(again, at: index)
    }

    /// Every event at or below this offset is settled for this connector.
    var watermark: UInt64 {
        let floors = waiting.lazy.map(\.item.floor) + inFlight.values.lazy.map(\.item.floor)
        return floors.min() ?? seenUpTo
    }
}
