/// Why a text could not be read as a Socket.IO v5 packet.
public enum SocketIOPacketError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The packet has no characters.
    case empty
    /// The first byte is not a known packet type digit (0-6).
    case unknownType(UInt8)
    /// A binary event or ack (types 5 and 6).
    case binaryNotSupported
    /// The namespace is longer than `SocketIOPacket.maxNamespaceBytes` or holds control characters.
    case invalidNamespace
    /// The ack id has more than 19 digits or does not fit in 64 bits, or an ack has none.
    case invalidAckID
    /// The data part is not valid JSON, or passes a cap of the parser; the code is the JSON error's.
    case invalidJSON(JSONParseError)
    /// The data is valid JSON but not the shape this packet type needs; `reason` says which.
    case invalidData(type: SocketIOPacketType, reason: String)

    /// A stable snake_case identifier for this error.
    public var code: String {
        switch self {
        case .empty: "empty_packet"
        case .unknownType: "unknown_packet_type"
        case .binaryNotSupported: "binary_not_supported"
        case .invalidNamespace: "invalid_namespace"
        case .invalidAckID: "invalid_ack_id"
        case .invalidJSON(let error): error.code
        case .invalidData: "invalid_packet_data"
        }
    }

    /// A message that tells the sender what to fix.
    public var description: String {
        switch self {
        case .empty:
            "The Socket.IO packet is empty: it must start with a packet type digit (0-6)."
        case .unknownType(let byte):
            "Unknown Socket.IO packet type \(Self.show(byte)): the packet must start with a digit from 0 to 6."
        case .binaryNotSupported:
            "Binary Socket.IO packets are not supported: send events and acks whose arguments are plain JSON."
        case .invalidNamespace:
            "The Socket.IO namespace is invalid: at most \(SocketIOPacket.maxNamespaceBytes) bytes, no control characters."
        case .invalidAckID:
            "The ack id is invalid: it must be 1 to 19 decimal digits (and an ack packet must have one)."
        case .invalidJSON(let error):
            "The Socket.IO packet data (after the type, namespace and ack id) is invalid. \(error.description)"
        case .invalidData(let type, let reason):
            "The data of the Socket.IO \(type) packet is invalid: \(reason)"
        }
    }

    /// A printable ASCII byte in quotes, any other byte in hex.
    private static func show(_ byte: UInt8) -> String {
        (0x21...0x7E).contains(byte)
            ? "\"\(Character(Unicode.Scalar(byte)))\"" : "byte 0x\(String(byte, radix: 16, uppercase: true))"
    }
}
