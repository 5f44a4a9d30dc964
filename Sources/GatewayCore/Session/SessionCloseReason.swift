import NIOWebSocket
import SocketIO

/// Why a Socket.IO session closes its client's connection. `description` is the reason text of the
/// WebSocket close frame, `closeCode` its status.
enum SessionCloseReason: Sendable, Equatable, CustomStringConvertible {
    /// The client kept sending frames over the rate limit: `refused` of them within `seconds`.
    case flooding(refused: Int, seconds: Int64)
    /// The client sent this many malformed or unknown packets or events within `seconds`.
    case misbehaving(count: Int, seconds: Int64)
    /// A packet that could not be read, and had no ack id to answer the error on.
    case invalidPacket(SocketIOPacketError)
    /// An event before the client connected to the namespace with `40`.
    case eventBeforeConnect
    /// A packet type that clients never send.
    case unexpectedPacketType(SocketIOPacketType)

    /// 1008 (policy violation) for abuse, 1002 (protocol error) for packets that break the protocol.
    var closeCode: WebSocketErrorCode {
        switch self {
        case .flooding, .misbehaving: .policyViolation
        case .invalidPacket, .eventBeforeConnect, .unexpectedPacketType: .protocolError
        }
    }

    var description: String {
        switch self {
        case .flooding(let refused, let seconds):
            "rate limit: \(refused) packets within \(seconds) s over the limit of \(SocketIOSession.framesPerSecond) per second"
        case .misbehaving(let count, let seconds):
            "\(count) malformed or unknown packets or events within \(seconds) s"
        case .invalidPacket(let error):
            "invalid Socket.IO packet (\(error.code)): \(error.description)"
        case .eventBeforeConnect:
            "event before connecting to the namespace: send 40 first"
        case .unexpectedPacketType(let type):
            "unexpected Socket.IO packet type \(type.rawValue) from a client"
        }
    }
}
