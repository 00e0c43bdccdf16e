import Dispatch

/// Runs calls that may block (state-bus reads wait on the bus's gate while a group commit is
/// in fsync) on their own threads, never on Swift's cooperative pool: on two cores that pool
/// has two threads, and one blocked read would halve the server.
public enum BlockingLane {
    static let queue = DispatchQueue(label: "orderhub.blocking-reads", qos: .userInitiated, attributes: .concurrent)

    public static func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in queue.async { continuation.resume(returning: body()) } }
    }
}
