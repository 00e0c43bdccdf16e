#if canImport(Glibc)
import Glibc
#endif

/// A readers-writer lock that prefers the writer: calls into a slot share it, a hot swap
/// takes it alone. Preferring the writer bounds a swap's wait to the calls already in
/// flight (readers arriving after it queue behind it), which is what "quiesce" means.
/// Never take it twice on one thread: a waiting writer would block the second read.
public final class SwapLock: @unchecked Sendable {  // the pthread lock is only used through its pointer
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    public init() {
        lock = .allocate(capacity: 1)
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        pthread_rwlock_init(lock, &attributes)
        pthread_rwlockattr_destroy(&attributes)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    public func shared<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }

    /// Like `exclusive`, but gives up when the calls in flight have not finished within
    /// `millis` (a hung call must not hold a swap, and every call queued behind it, for ever):
    /// nil then, and `body` did not run.
    public func exclusive<R, E: Error>(within millis: Int, _ body: () throws(E) -> R) throws(E) -> R? {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let total = Int(now.tv_nsec) + (millis % 1000) * 1_000_000
        var deadline = timespec(tv_sec: now.tv_sec + millis / 1000 + total / 1_000_000_000, tv_nsec: total % 1_000_000_000)
        guard pthread_rwlock_timedwrlock(lock, &deadline) == 0 else { return nil }
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }

    public func exclusive<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
}
