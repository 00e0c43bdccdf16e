import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One end of the hub ↔ worker socket: whole frames out (one writer at a time), whole frames
/// in (one reader thread). A closed or broken socket reads as nil.
final class FrameChannel: Sendable {
    let fd: Int32
    private let writing = Mutex<Void>(())
    private let closed = Atomic<Bool>(false)
    static let maxFrame = 64 << 20

    init(fd: Int32) { self.fd = fd }

    /// A connected pair (close-on-exec; the worker's end is handed over as its stdin).
    static func pair() -> (hub: Int32, worker: Int32)? {
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else { return nil }
        return (fds[0], fds[1])
    }

    @discardableResult
    func send(_ kind: Frame, id: UInt64, _ payload: [UInt8]) -> Bool {
        var frame = WireWriter()
        frame.u32(UInt32(payload.count + 9))
        frame.u8(kind.rawValue)
        frame.u64(id)
        guard payload.count + 9 <= Self.maxFrame else { return false }
        var bytes = frame.bytes
        bytes.append(contentsOf: payload)
        return writing.withLock { _ in
            // Never on a closed descriptor: its number may already belong to another socket.
            guard !closed.load(ordering: .acquiring) else { return false }
            var sent = 0
            while sent < bytes.count {
                // MSG_NOSIGNAL: a worker that died must not SIGPIPE the hub (or a hub the worker).
                let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return false }
                sent += n
            }
            return true
        }
    }

    /// The next frame, or nil when the other end is gone (or sent something malformed).
    func receive() -> (kind: Frame, id: UInt64, payload: [UInt8])? {
        guard let header = read(exactly: 4) else { return nil }
        let length = Int(header.reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        guard length >= 9, length <= Self.maxFrame, let body = read(exactly: length), let kind = Frame(rawValue: body[0]) else { return nil }
        let id = body[1..<9].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return (kind, id, Array(body[9...]))
    }

    private func read(exactly count: Int) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + got, count - got) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return nil }
            got += n
        }
        return buffer
    }

    /// Shuts both directions: the reader wakes with EOF (and closes the descriptor as it leaves).
    func shutDown() { shutdown(fd, Int32(SHUT_RDWR)) }

    /// Closes the descriptor once; only the reader thread calls it, after its last read.
    func close() {
        writing.withLock { _ in
            guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
            Glibc.close(fd)
        }
    }
}
