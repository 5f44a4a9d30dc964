/// SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed 64-bit hash, a pseudorandom function of its
/// 128-bit key. Without the key, inputs with chosen hashes cannot be found, which FNV-1a allows; it
/// places rooms on shards (``Shard``). Stable across processes, builds and machines, unlike `Hasher`.
public enum SipHash24 {
    /// The hash of `bytes` under the key `(k0, k1)`: the key's 16 bytes read as two little-endian words.
    public static func hash(_ bytes: some Collection<UInt8>, k0: UInt64, k1: UInt64) -> UInt64 {
        var state = State(k0: k0, k1: k1)
        var word: UInt64 = 0
        var filled = 0
        for byte in bytes {
            word |= UInt64(byte) << (8 * UInt64(filled))
            filled += 1
            if filled == 8 {
                state.compress(word)
                word = 0
                filled = 0
            }
        }
        // The last word: the remaining bytes and the length's low byte on top.
        word |= UInt64(truncatingIfNeeded: bytes.count) << 56
        state.compress(word)
        return state.finalize()
    }

    private struct State {
        var v0: UInt64
        var v1: UInt64
        var v2: UInt64
        var v3: UInt64

        init(k0: UInt64, k1: UInt64) {
            v0 = k0 ^ 0x736f_6d65_7073_6575
            v1 = k1 ^ 0x646f_7261_6e64_6f6d
            v2 = k0 ^ 0x6c79_6765_6e65_7261
            v3 = k1 ^ 0x7465_6462_7974_6573
        }

        mutating func round() {
            v0 &+= v1
            v1 = rotate(v1, 13) ^ v0
            v0 = rotate(v0, 32)
            v2 &+= v3
            v3 = rotate(v3, 16) ^ v2
            v0 &+= v3
            v3 = rotate(v3, 21) ^ v0
            v2 &+= v1
            v1 = rotate(v1, 17) ^ v2
            v2 = rotate(v2, 32)
        }

        /// Two rounds per message word (the "2" of 2-4).
        mutating func compress(_ word: UInt64) {
            v3 ^= word
            round()
            round()
            v0 ^= word
        }

        /// Four rounds at the end (the "4").
        mutating func finalize() -> UInt64 {
            v2 ^= 0xff
            for _ in 0..<4 { round() }
            return v0 ^ v1 ^ v2 ^ v3
        }

        private func rotate(_ value: UInt64, _ bits: UInt64) -> UInt64 {
            (value << bits) | (value >> (64 - bits))
        }
    }
}
