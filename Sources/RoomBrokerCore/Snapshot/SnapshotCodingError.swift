/// Why a snapshot could not be encoded or decoded. Offsets count from the start of the body (after the
/// 16-byte header); `path` names the value, e.g. `registry.rooms["lobby"].history`.
public enum SnapshotCodingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Fewer bytes than a header and a checksum.
    case tooShort(count: Int)
    /// The bytes do not start with "CHSN".
    case badMagic([UInt8])
    /// A format version this build does not read.
    case unsupportedVersion(found: UInt16, supported: UInt16)
    /// Header flags this build does not know.
    case unsupportedFlags(UInt16)
    /// The header's body length differs from the bytes there are.
    case lengthMismatch(declared: UInt64, actual: Int)
    /// The body's CRC-32C differs from the one stored after it.
    case checksumMismatch(stored: UInt32, computed: UInt32)
    /// A value needs `needed` bytes where its container has `available` left.
    case truncated(offset: Int, needed: UInt64, available: Int, path: String)
    /// A varint runs over 10 bytes or past 64 bits.
    case malformedVarint(offset: Int, path: String)
    /// A byte that is no ``SnapshotTag``.
    case unknownTag(UInt8, offset: Int, path: String)
    /// A key index beyond the key table.
    case badKeyIndex(UInt64, keys: Int, offset: Int)
    /// Bytes left over where a container, the root value or the key table should end.
    case trailingBytes(count: Int, offset: Int)
    /// Text that is not UTF-8.
    case invalidUTF8(offset: Int, path: String)
    /// A value of another kind than the type being decoded wants.
    case typeMismatch(expected: String, found: String, offset: Int, path: String)
    /// A number that does not fit the type being decoded.
    case valueOutOfRange(type: String, value: String, path: String)
    /// A keyed container without the key asked for.
    case keyNotFound(String, path: String)
    /// An unkeyed container read past its last value.
    case noMoreValues(count: Int, path: String)
    /// Values nested deeper than the limit.
    case nestingTooDeep(limit: Int, path: String)
    /// A container of more than 4 GiB (encoding).
    case containerTooLarge(bytes: Int, path: String)
    /// An `encode(to:)` wrote to containers out of nesting order, or asked for two kinds (encoding).
    case containerMisuse(String, path: String)

    public var description: String {
        switch self {
        case .tooShort(let count):
            return "snapshot of \(count) bytes is shorter than its header and checksum (20 bytes): nothing was sent?"
        case .badMagic(let bytes):
            return "not a snapshot: starts with \(bytes.map { String($0, radix: 16) }) instead of \"CHSN\""
        case .unsupportedVersion(let found, let supported):
            return "snapshot format version \(found) is not supported (this build reads \(supported)); "
                + "run both brokers of a pair from the same release"
        case .unsupportedFlags(let flags):
            return "snapshot header flags \(flags) are unknown to this build; run both brokers from the same release"
        case .lengthMismatch(let declared, let actual):
            return "snapshot header declares a body of \(declared) bytes but \(actual) follow: truncated or padded"
        case .checksumMismatch(let stored, let computed):
            return "snapshot checksum mismatch (stored \(hex(stored)), computed \(hex(computed))): "
                + "the bytes were damaged; ask for the snapshot again"
        case .truncated(let offset, let needed, let available, let path):
            return "value at \(path) (byte \(offset)) needs \(needed) bytes but its container has \(available) left"
        case .malformedVarint(let offset, let path):
            return "malformed varint at \(path) (byte \(offset)): longer than 64 bits"
        case .unknownTag(let tag, let offset, let path):
            return "unknown value tag \(tag) at \(path) (byte \(offset)): written by a newer or broken encoder"
        case .badKeyIndex(let index, let keys, let offset):
            return "key index \(index) at byte \(offset) is beyond the key table of \(keys) keys"
        case .trailingBytes(let count, let offset):
            return "\(count) unexpected bytes at byte \(offset) where a value or the key table should end"
        case .invalidUTF8(let offset, let path):
            return "string at \(path) (byte \(offset)) is not valid UTF-8"
        case .typeMismatch(let expected, let found, let offset, let path):
            return "expected \(expected) at \(path) (byte \(offset)) but found \(found): "
                + "the snapshot was written by another version of this type"
        case .valueOutOfRange(let type, let value, let path):
            return "value \(value) at \(path) does not fit \(type)"
        case .keyNotFound(let key, let path):
            return "no \"\(key)\" at \(path): the snapshot predates this field (decode it with decodeIfPresent)"
        case .noMoreValues(let count, let path):
            return "read past the \(count) values of \(path)"
        case .nestingTooDeep(let limit, let path):
            return "values nested deeper than \(limit) levels at \(path)"
        case .containerTooLarge(let bytes, let path):
            return "container at \(path) holds \(bytes) bytes, more than the format's 4 GiB per container"
        case .containerMisuse(let what, let path):
            return "encode(to:) of the value at \(path) \(what)"
        }
    }

    private func hex(_ value: UInt32) -> String { "0x" + String(value, radix: 16) }
}
