/// A 64-bit FNV-1a digest of the frames an input produced: the active sends it with each update and
/// the standby compares it with its own, so a replica that drifted is caught and reloaded.
public struct OutputDigest: Sendable {
    /// The digest so far.
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    /// An empty digest.
    public init() {}

    /// Adds one frame (its length first, so frame boundaries count).
    public mutating func add(_ frame: [UInt8]) {
        mix(UInt64(frame.count))
        for byte in frame {
            value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
    }

    private mutating func mix(_ number: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) {
            value = (value ^ ((number >> UInt64(shift)) & 0xff)) &* 0x0000_0100_0000_01b3
        }
    }
}
