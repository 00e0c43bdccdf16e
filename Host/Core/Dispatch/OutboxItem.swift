import HubLoader

/// One delivery a connector owes: a committed event, and a log offset strictly below the
/// record that holds it. The outbox is the log itself (a dispatch request is committed in the
/// same transaction as the order's state change); `floor` lets the connector's watermark say
/// "everything at or below this offset is settled", so a restart re-reads only the tail.
struct OutboxItem: Sendable {
    var event: BusEvent
    let floor: UInt64
    /// A dispatch request read back from the log: its full instruction is rebuilt from the
    /// order's timeline when a worker takes it (not all at once during start).
    var rebuild = false
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

    /// Jobs in line, by seq. Taken jobs leave a hole (nil) rather than shifting the array, and
    /// `head` skips the holes at the front: taking from the front of a long backlog is O(1).
    private var line: [Job?] = []
    private var head = 0
    private var holes = 0
    private var inFlight: [UInt64: Job] = [:]
    private var busySubjects: [String: Int] = [:]
    private var nextSeq: UInt64 = 1
    /// The highest offset routed so far (every event at or below it has been handed to us).
    private(set) var seenUpTo: UInt64

    init(seenUpTo: UInt64) { self.seenUpTo = seenUpTo }

    var waitingCount: Int { line.count - head - holes }
    var count: Int { waitingCount + inFlight.count }
    var isIdle: Bool { waitingCount == 0 && inFlight.isEmpty }

    mutating func add(_ item: OutboxItem) {
        line.append(Job(seq: nextSeq, item: item, attempt: 1, due: 0))
        nextSeq += 1
    }

    mutating func observe(committedUpTo offset: UInt64) { seenUpTo = max(seenUpTo, offset) }

    /// The first due job whose order has no earlier job waiting or in flight.
    mutating func take(now: UInt64) -> Job? {
        var blocked = Set<String>()
        var index = head
        while index < line.count {
            defer { index += 1 }
            guard let job = line[index] else { continue }
            if busySubjects[job.subject] != nil || blocked.contains(job.subject) { continue }
            if job.due <= now {
                line[index] = nil
                holes += 1
                inFlight[job.seq] = job
                busySubjects[job.subject, default: 0] += 1
                compact()
                return job
            }
            blocked.insert(job.subject)
        }
        return nil
    }

    /// Skips the holes at the front; rebuilds the array when holes are most of it.
    private mutating func compact() {
        while head < line.count, line[head] == nil {
            head += 1
            holes -= 1
        }
        if head > 4096 && head * 2 > line.count || holes > 4096 && holes * 2 > line.count {
            line = line[head...].filter { $0 != nil }
            head = 0
            holes = 0
        }
    }

    /// Earliest due time among jobs first in line for their order, or nil when none waits.
    func nextDue() -> UInt64? {
        var seen = Set<String>()
        var earliest: UInt64?
        for case let job? in line[head...] where busySubjects[job.subject] == nil && seen.insert(job.subject).inserted {
            earliest = min(earliest ?? job.due, job.due)
        }
        return earliest
    }

    /// The job is settled (acknowledged or dead-lettered, and recorded).
    mutating func finish(_ job: Job) {
        inFlight[job.seq] = nil
        if let n = busySubjects[job.subject] { busySubjects[job.subject] = n > 1 ? n - 1 : nil }
    }

    /// The job failed for now: back in its place in line (by seq), due later.
    mutating func retry(_ job: Job, due: UInt64) {
        var again = job
        again.attempt += 1
        putBack(again, due: due)
    }

    /// The job was taken but not sent (no attempt made): back in its place, due later.
    mutating func putBack(_ job: Job, due: UInt64) {
        finish(job)
        var again = job
        again.due = due
        // Binary search over the live entries' seqs (holes keep their neighbours' order).
        var low = head, high = line.count
        while low < high {
            let mid = (low + high) / 2
            if seqAtOrAfter(mid) > job.seq { high = mid } else { low = mid + 1 }
        }
        if low < line.count, line[low] == nil {
            // Usually the job's own hole: the live entry before it has a lower seq, the next a higher.
            line[low] = again
            holes -= 1
        } else if low == head, head > 0 {
            head -= 1
            line[head] = again
        } else {
            line.insert(again, at: low)
        }
    }

    /// The seq of the first live job at or after `index` (UInt64.max past the end).
    private func seqAtOrAfter(_ index: Int) -> UInt64 {
        var i = index
        while i < line.count {
            if let job = line[i] { return job.seq }
            i += 1
        }
        return UInt64.max
    }

    /// Every event at or below this offset is settled for this connector.
    var watermark: UInt64 {
        var lowest: UInt64?
        for case let job? in line[head...] { lowest = min(lowest ?? job.item.floor, job.item.floor) }
        for job in inFlight.values { lowest = min(lowest ?? job.item.floor, job.item.floor) }
        return lowest ?? seenUpTo
    }
}
