/// A CURVE public key: 32 bytes, written as 40 characters of Z85 in key files and logs.
public struct CurvePublicKey: Sendable, Hashable, CustomStringConvertible {
    /// The key's 32 bytes.
    public let bytes: [UInt8]

    /// The length of a CURVE key in bytes.
    public static let byteCount = 32

    /// The key with these 32 bytes, or nil for another length.
    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.byteCount else { return nil }
        self.bytes = bytes
    }

    /// The key written as 40 Z85 characters, or nil for anything else.
    public init?(z85: String) {
        guard let bytes = Z85.decode(z85, byteCount: Self.byteCount) else { return nil }
        self.bytes = bytes
    }

    /// The 40 Z85 characters of the key.
    public var z85: String {
        // 32 bytes always encode.
        Z85.encode(bytes) ?? ""
    }

    /// The first 8 Z85 characters: enough to tell keys apart in a log line.
    public var prefix: String { String(z85.prefix(8)) }

    public var description: String { z85 }
}
