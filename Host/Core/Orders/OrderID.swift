import HubLoader

/// Time-ordered order ids ("ord_" + 26 Crockford base32 characters, ULID layout): sortable
/// by creation, unique without coordination.
public enum OrderID {
    private static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    public static func make() -> String {
        var rng = SystemRandomNumberGenerator()
        let millis = UInt64(Clock.wallNanos() / 1_000_000)
        let random = (rng.next() as UInt64, rng.next() as UInt64)
        // 48 bits of time, 80 bits of randomness = 128 bits -> 26 chars of 5 bits (130 bits, top 2 zero).
        var high = millis << 16 | (random.0 >> 48)
        var low = random.1 ^ (random.0 << 16)
        var chars = [UInt8](repeating: 0, count: 26)
        for index in stride(from: 25, through: 0, by: -1) {
            chars[index] = alphabet[Int(low & 31)]
            low = low >> 5 | (high & 31) << 59
            high >>= 5
        }
        return "ord_" + String(decoding: chars, as: UTF8.self)
    }
}
