import HubLoader

/// HMAC-SHA256 (RFC 2104) on the loader's SHA-256, so the fake vendors need no crypto package.
enum HMAC {
    private static let blockSize = 64
    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func sha256(key: [UInt8], message: some Collection<UInt8>) -> [UInt8] {
        var block = key.count > blockSize ? digest(key) : key
        block.append(contentsOf: [UInt8](repeating: 0, count: blockSize - block.count))
        var inner = SHA256()
        inner.update(block.map { $0 ^ 0x36 })
        inner.update(message)
        let innerDigest = inner.finalize()
        var outer = SHA256()
        outer.update(block.map { $0 ^ 0x5c })
        outer.update(innerDigest)
        return outer.finalize()
    }

    /// Lower-case hex HMAC of `message` keyed with the UTF-8 bytes of `secret`.
    static func sha256Hex(secret: String, message: some Collection<UInt8>) -> String {
        hex(sha256(key: Array(secret.utf8), message: message))
    }

    static func hex(_ bytes: [UInt8]) -> String {
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(hexDigits[Int(byte >> 4)])
            text.append(hexDigits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    private static func digest(_ bytes: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalize()
    }
}
