import Foundation
import Synchronization

/// Runs work on a thread of its own at a lower CPU priority (nice +10), and waits for it.
/// Preparing a swap is heavy (reading and hashing libraries, dlopen, loading models); on a
/// busy machine it should take the CPU orders leave, not the other way round.
enum LowPriority {
    static func run<T: Sendable>(_ body: @escaping @Sendable () -> T) -> T {
        let result = Box<T>()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            // Linux keeps the nice value per thread: `who` 0 is this thread alone.
            setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
            result.value.withLock { $0 = body() }
            done.signal()
        }
        thread.start()
        done.wait()
        return result.value.withLock { $0! }
    }

    private final class Box<T: Sendable>: Sendable {
        let value = Mutex<T?>(nil)
    }
}
