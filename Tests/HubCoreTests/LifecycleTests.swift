import HubCore
import Testing

@Suite struct LifecycleTests {
    @Test func happyPathIsAllowed() {
        let path: [OrderState] = [.received, .accepted, .released, .dispatched, .acknowledged, .picked, .packed, .shipped, .delivered]
        for (from, to) in zip(path, path.dropFirst()) { #expect(Lifecycle.allows(from, to), "\(from) -> \(to)") }
    }

    @Test func holdsGoBothWays() {
        #expect(Lifecycle.allows(.accepted, .onHold))
        #expect(Lifecycle.allows(.onHold, .released))
        #expect(Lifecycle.allows(.released, .onHold))
    }

    @Test func terminalStatesHaveNoExit() {
        for state in OrderState.allCases where state.isTerminal {
            #expect(Lifecycle.next(from: state).isEmpty, "\(state) must be terminal")
        }
    }

    @Test func skipsAndReversalsAreRefused() {
        #expect(!Lifecycle.allows(.received, .dispatched))
        #expect(!Lifecycle.allows(.shipped, .packed))
        #expect(!Lifecycle.allows(.delivered, .canceled))
        #expect(!Lifecycle.allows(.onHold, .dispatched))
    }

    @Test func everyStateIsReachable() {
        let reachable = Set(Lifecycle.transitions.map(\.to)).union([.received])
        #expect(reachable == Set(OrderState.allCases))
    }
}
