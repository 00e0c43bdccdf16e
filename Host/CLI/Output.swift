#if canImport(Glibc)
import Glibc
#endif

/// Writes to stdout/stderr with write(2) (Swift 6 forbids touching Glibc's stdout/stderr
/// globals) so lines are never lost in a buffer when the process exits.
enum Output {
    static func out(_ text: String) { write(1, text + "\n") }
    static func err(_ text: String) { write(2, text + "\n") }

    private static func write(_ fd: Int32, _ text: String) {
        var copy = text
        copy.withUTF8 { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n <= 0 { return }
                offset += n
            }
        }
    }
}
