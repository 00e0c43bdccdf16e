@testable import HubCore
import HubLoader
import Testing

/// The connector delivery queue: per-order FIFO through retries, due times, and the outbox
/// watermark; and the circuit breaker's closed → open → half-open → closed cycle.
@Suite struct DeliveryQueueTests {
    private func item(_ order: String, _ id: String, floor: UInt64) -> OutboxItem {
        OutboxItem(event: BusEvent(id: id, source: "/t", type: "t", subject: order, data: [], producer: "t", timeUnixNanos: 0, sequence: 0),
                   floor: floor)
    }

    @Test func anUpdateWaitsForItsOrdersCreateEvenInBackoff() throws {
        var queue = DeliveryQueue(seenUpTo: 0)
        queue.add(item("o1", "create", floor: 10))
        queue.add(item("o1", "cancel", floor: 20))
        queue.add(item("o2", "create", floor: 30))
        let taken = queue.take(now: 100)
        let create = try #require(taken)
        #expect(create.item.event.id == "create")
        let beside = queue.take(now: 100)
        #expect(beside?.subject == "o2", "o2's create runs beside o1's; o1's cancel waits")
        queue.retry(create, due: 1_000)
        // o1's create is backing off: its cancel must not go; o2 may.
        let none = queue.take(now: 200)
        #expect(none == nil)
        #expect(queue.nextDue() == 1_000, "the blocked cancel (due 0) does not make a worker spin or sleep forever")
        let retried = queue.take(now: 1_000)
        let again = try #require(retried)
        #expect(again.item.event.id == "create" && again.attempt == 2)
        queue.finish(again)
        let cancel = queue.take(now: 1_000)
        #expect(cancel?.item.event.id == "cancel")
    }

    @Test func theWatermarkStaysBelowEveryUnsettledItem() throws {
        var queue = DeliveryQueue(seenUpTo: 5)
        #expect(queue.watermark == 5)
        queue.add(item("a", "1", floor: 10))
        queue.add(item("b", "2", floor: 20))
        queue.observe(committedUpTo: 25)
        #expect(queue.watermark == 10)
        let taken = queue.take(now: 0)
        let first = try #require(taken)
        #expect(queue.watermark == 10, "in flight is not settled")
        queue.finish(first)
        #expect(queue.watermark == 20)
        let second = queue.take(now: 0)
        queue.finish(try #require(second))
        #expect(queue.watermark == 25)
        #expect(queue.isIdle)
    }

    @Test func theCircuitOpensProbesAndCloses() {
        var breaker = CircuitBreaker(threshold: 3, openNanos: 100)
        var answers: [UInt64?] = [breaker.blockedUntil(now: 0)]
        let opens = [breaker.failed(now: 0), breaker.failed(now: 0), breaker.failed(now: 10)]
        #expect(opens == [false, false, true], "the third failure in a row opens it")
        answers += [breaker.blockedUntil(now: 50), breaker.blockedUntil(now: 110)]
        breaker.started()
        answers.append(breaker.blockedUntil(now: 111))
        let reopened = breaker.failed(now: 120)
        answers.append(breaker.blockedUntil(now: 220))
        // closed; open until 110; half-open (one probe may go); only one probe at a time; a failed probe re-opens.
        #expect(answers == [nil, 110, nil, 0, nil])
        #expect(!reopened, "re-opening after a probe is not a new opening")
        breaker.started()
        breaker.succeeded()
        #expect(breaker.phase == .closed && breaker.opened == 1)
    }
}
