/// The 64-bit FNV-1a hash (Fowler–Noll–Vo): it places rooms on shards (``Shard``) and digests a broker's
/// output for its standby. Stable across processes, builds and machines, unlike Swift's `Hasher`.
public struct FNV1a64: Sendable, Equatable {
    /// The hash of no bytes.
    public static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    /// The FNV prime for 64 bits.
    public static let prime: UInt64 = 0x0000_0100_0000_01b3

    /// The hash of the bytes added so far.
    public var value: UInt64 { state }
    @usableFromInline var state: UInt64 = offsetBasis

    /// A hash of no bytes yet.
    @inlinable
    public init() {}

    /// Adds one byte: xor, then multiply by the prime.
    @inlinable
    public mutating func add(_ byte: UInt8) {
        state = (state ^ UInt64(byte)) &* Self.prime
    }

    /// Adds `bytes` in order.
    @inlinable
    public mutating func add(contentsOf bytes: some Sequence<UInt8>) {
        for byte in bytes { add(byte) }
    }

    /// The hash of `bytes`.
    @inlinable
    public static func hash(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var hash = FNV1a64()
        hash.add(contentsOf: bytes)
        return hash.value
    }
}
