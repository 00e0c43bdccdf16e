import CHubABI

#if canImport(Glibc)
import Glibc
#endif

/// Bump allocator for the bytes of one ABI call (an order, a batch of events): everything
/// a plugin borrows lives here and is freed together when the call is over.
final class Arena {
    private var chunks: [UnsafeMutableRawPointer] = []
    private var cursor: UnsafeMutableRawPointer?
    private var remaining = 0
    private static let chunkSize = 8192

    deinit { for chunk in chunks { free(chunk) } }

    func allocate(_ size: Int, alignment: Int = 8) -> UnsafeMutableRawPointer {
        let padding = cursor.map { (alignment - Int(bitPattern: $0) % alignment) % alignment } ?? 0
        if cursor == nil || remaining < size + padding {
            let capacity = max(size + alignment, Self.chunkSize)
            let chunk = malloc(capacity)!
            chunks.append(chunk)
            cursor = chunk
            remaining = capacity
            return allocate(size, alignment: alignment)
        }
        let start = cursor! + padding
        cursor = start + size
        remaining -= size + padding
        return start
    }

    func bytes(_ text: String) -> hub_bytes {
        var copy = text
        return copy.withUTF8 { bytes(UnsafeRawBufferPointer($0)) }
    }

    func bytes(_ data: [UInt8]) -> hub_bytes {
        data.withUnsafeBytes { bytes($0) }
    }

    func bytes(_ raw: UnsafeRawBufferPointer) -> hub_bytes {
        guard raw.count > 0, let base = raw.baseAddress else { return hub_bytes(ptr: nil, len: 0) }
        let target = allocate(raw.count, alignment: 1)
        target.copyMemory(from: base, byteCount: raw.count)
        return hub_bytes(ptr: target.assumingMemoryBound(to: UInt8.self), len: raw.count)
    }

    func make<T>(_ value: T) -> UnsafeMutablePointer<T> {
        let pointer = allocate(MemoryLayout<T>.stride, alignment: MemoryLayout<T>.alignment).bindMemory(to: T.self, capacity: 1)
        pointer.initialize(to: value)
        return pointer
    }

    func pointerArray<T>(_ pointers: [UnsafeMutablePointer<T>]) -> UnsafeMutablePointer<UnsafePointer<T>?> {
        let array = allocate(MemoryLayout<UnsafePointer<T>?>.stride * max(pointers.count, 1))
            .bindMemory(to: UnsafePointer<T>?.self, capacity: max(pointers.count, 1))
        for (index, pointer) in pointers.enumerated() { (array + index).initialize(to: UnsafePointer(pointer)) }
        return array
    }
}

/// Copies an owned hub_buf out and releases it with the producer's own release function.
func take(_ buf: inout hub_buf) -> [UInt8] {
    let bytes = buf.ptr.map { Array(UnsafeBufferPointer(start: $0, count: buf.len)) } ?? []
    buf.release?(&buf)
    buf = hub_buf()
    return bytes
}
