/// Why a gateway-broker frame could not be decoded.
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The frame ended inside `field`.
    case truncated(field: String)
    /// The frame is larger than the `limit` bytes this side accepts.
    case oversized(size: Int, limit: Int)
    /// The first byte names a format version this side does not speak.
    case unsupportedVersion(UInt8)
    /// The kind byte names no known command, reply or event.
    case unknownKind(UInt8)
    /// The error code byte of a reply is not a known ``ChatErrorCode``.
    case unknownErrorCode(UInt8)
    /// `field` is not valid UTF-8.
    case invalidUTF8(field: String)
    /// `count` bytes follow the last field.
    case trailingBytes(count: Int)
    /// A multipart message had `actual` frames where `expected` were required.
    case wrongFrameCount(expected: Int, actual: Int)
    /// A broadcast's topic frame does not match the room in its header.
    case topicMismatch

    public var description: String {
        switch self {
        case .truncated(let field): return "frame truncated while reading \(field)"
        case .oversized(let size, let limit): return "frame of \(size) bytes exceeds the limit of \(limit) bytes"
        case .unsupportedVersion(let version):
            return
                "wire format version \(version) is not supported (this build speaks \(WireFormat.version)); run gateway and broker from the same release"
        case .unknownKind(let kind): return "unknown message kind \(kind)"
        case .unknownErrorCode(let code): return "unknown error code \(code)"
        case .invalidUTF8(let field): return "\(field) is not valid UTF-8"
        case .trailingBytes(let count): return "\(count) unexpected bytes after the last field"
        case .wrongFrameCount(let expected, let actual): return "expected \(expected) frames, got \(actual)"
        case .topicMismatch: return "broadcast topic does not match its room"
        }
    }
}
