import ChatWire

/// A 64-bit FNV-1a digest of the frames an input produced: the active sends it with each update and
/// the standby compares it with its own, so a replica that drifted is caught and reloaded.
public struct OutputDigest: Sendable {
    private var hash = FNV1a64()

    /// The digest so far.
    public var value: UInt64 { hash.value }

    /// An empty digest.
    public init() {}

    /// Adds one frame (its length first, so frame boundaries count).
    public mutating func add(_ frame: [UInt8]) {
        mix(UInt64(frame.count))
        hash.add(contentsOf: frame)
    }

    private mutating func mix(_ number: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) {
            hash.add(UInt8(truncatingIfNeeded: number >> UInt64(shift)))
        }
    }
}
