import ChatWire

/// Decodes a `Decodable` value from the bytes of a ``SnapshotEncoder`` (`SnapshotFormat`).
///
/// The bytes may be damaged or hostile: the header, length and CRC-32C are checked before anything
/// else, then every length against what its container has left, and nesting against ``maxDepth``.
/// Anything wrong throws a ``SnapshotCodingError``; nothing traps, and nothing is allocated beyond a
/// small multiple of the input. One call runs on one thread; the decoder itself is a plain value.
public struct SnapshotDecoder: Sendable {
    /// The most containers nested in one another (deeper values fail to decode).
    public var maxDepth = SnapshotFormat.defaultMaxDepth

    /// A decoder with the default limits.
    public init() {}

    /// The value of type `type` in `bytes`.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try bytes.withUnsafeBufferPointer { buffer in
            let body = try Self.body(of: buffer)
            let reader = SnapshotReader(body: body, maxDepth: maxDepth)
            let rootEnd = try reader.end(ofValueAt: 0, limit: body.count) { "the root" }
            try reader.readKeyTable(rootEnd..<body.count)
            return try SnapshotValueDecoder.decode(
                T.self,
                reader: reader,
                at: 0,
                end: rootEnd,
                level: 0,
                parent: nil,
                component: nil
            )
        }
    }

    /// The body of a snapshot, once its header and checksum are checked.
    static func body(of bytes: UnsafeBufferPointer<UInt8>) throws(SnapshotCodingError) -> UnsafeBufferPointer<UInt8> {
        let framing = SnapshotFormat.headerSize + SnapshotFormat.trailerSize
        guard bytes.count >= framing else { throw .tooShort(count: bytes.count) }
        let raw = UnsafeRawBufferPointer(bytes)
        guard bytes.prefix(4).elementsEqual(SnapshotFormat.magic) else { throw .badMagic(Array(bytes.prefix(4))) }
        let version = UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 4, as: UInt16.self))
        guard version == SnapshotFormat.version else {
            throw .unsupportedVersion(found: version, supported: SnapshotFormat.version)
        }
        let flags = UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 6, as: UInt16.self))
        guard flags == 0 else { throw .unsupportedFlags(flags) }
        let declared = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        let actual = bytes.count - framing
        guard declared == UInt64(actual) else { throw .lengthMismatch(declared: declared, actual: actual) }
        let bodyEnd = SnapshotFormat.headerSize + actual
        let body = UnsafeBufferPointer(rebasing: bytes[SnapshotFormat.headerSize..<bodyEnd])
        let stored = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: bodyEnd, as: UInt32.self))
        let computed = CRC32C.checksum(UnsafeRawBufferPointer(body))
        guard stored == computed else { throw .checksumMismatch(stored: stored, computed: computed) }
        return body
    }
}
