import HubRules
import Testing

/// The windows a rules engine hands its successor in a hot swap: nothing lost, nothing
/// counted twice when both versions saw the same order (a canary seeded from its primary).
@Suite struct VelocityHandOverTests {
    let second: Int64 = 1_000_000_000

    @Test func handOverIntoAFreshInstanceKeepsEveryWindow() throws {
        let old = VelocityWindows()
        for i in 0..<5 { _ = old.record("ip:1", now: Int64(i) * second, window: 60 * second, distinct: "addr-\(i)") }
        _ = old.record("ip:2", now: 3 * second, window: 60 * second, distinct: nil)
        let next = VelocityWindows()
        try next.merge(handOver: old.handOver(), horizon: 0 - 1)
        #expect(next.keyCount == 2)
        // The sixth order from ip:1 counts the five before it, and six distinct addresses.
        let counted = next.record("ip:1", now: 10 * second, window: 60 * second, distinct: "addr-9")
        #expect(counted.count == 6 && counted.distinct == 6)
    }

    @Test func theSameOrderInBothCountsOnce() throws {
        let primary = VelocityWindows()
        _ = primary.record("ip:1", now: 1 * second, window: 60 * second, distinct: "a")
        let canary = VelocityWindows()
        try canary.merge(handOver: primary.handOver(), horizon: -1)  // seeded at canary start
        _ = primary.record("ip:1", now: 2 * second, window: 60 * second, distinct: "b")
        _ = canary.record("ip:1", now: 3 * second, window: 60 * second, distinct: "c")
        try canary.merge(handOver: primary.handOver(), horizon: -1)  // promotion
        let counted = canary.record("ip:1", now: 4 * second, window: 60 * second, distinct: "d")
        #expect(counted.count == 4 && counted.distinct == 4)
    }

    @Test func oldEntriesAreDroppedAndDamageIsReported() throws {
        let old = VelocityWindows()
        _ = old.record("ip:1", now: 1 * second, window: 60 * second, distinct: nil)
        let next = VelocityWindows()
        try next.merge(handOver: old.handOver(), horizon: 5 * second)
        #expect(next.keyCount == 0)
        #expect(throws: VelocityWindows.DamagedState.self) { try next.merge(handOver: Array(old.handOver().prefix(10)), horizon: 0) }
        #expect(throws: VelocityWindows.DamagedState.self) { try next.merge(handOver: Array("{}".utf8), horizon: 0) }
    }
}
