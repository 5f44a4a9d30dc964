import NIOCore
import NIOWebSocket

/// Why an Engine.IO connection closed. Its ``description`` is the reason text of the WebSocket close
/// frame and of the log line; ``kind`` labels the `chat_gateway_closes_total` metric.
public enum CloseReason: Sendable, Equatable, CustomStringConvertible {
    /// A deadline for the client passed without it doing what it had to.
    public enum Idle: Sendable, Equatable {
        /// No Socket.IO CONNECT (`40`) within this long of the upgrade.
        case noNamespaceConnect(TimeAmount)
        /// A fragmented WebSocket message was not finished within this long of its first fragment.
        case unfinishedMessage(TimeAmount)
    }

    /// The label values of ``kind``.
    public enum Kind: String, Sendable, CaseIterable {
        case clientClosed = "client_closed"
        case slowConsumer = "slow_consumer"
        case pingTimeout = "ping_timeout"
        case connectTimeout = "connect_timeout"
        case fragmentTimeout = "fragment_timeout"
        case messageTooLarge = "message_too_large"
        case protocolError = "protocol_error"
        case serverShutdown = "server_shutdown"
        case session = "session"
        case transportClosed = "transport_closed"
        case transportError = "transport_error"
    }

    /// The client closed: an Engine.IO close packet (`1`) or a WebSocket close frame.
    case clientClosed
    /// More than the outbound cap was queued for the client.
    case slowConsumer
    /// No pong within `pingTimeout` of a ping.
    case pingTimeout
    /// The client stayed silent where it had to act.
    case idle(Idle)
    /// A message larger than `maxPayload` bytes.
    case messageTooLarge(limit: Int)
    /// The client broke the WebSocket or Engine.IO protocol; the text says how.
    case protocolError(String)
    /// The gateway is shutting down (a drain): the close (1001, "server restarting: reconnect") tells
    /// Socket.IO clients to reconnect, which reaches another gateway on the same port.
    case serverShutdown
    /// The Socket.IO session closed the connection; the text is the session's own reason.
    case session(String)
    /// The TCP connection ended without a close handshake.
    case transportClosed
    /// The TCP connection failed; the text is the error.
    case transportError(String)

    /// The text sent in the close frame and logged.
    public var description: String {
        switch self {
        case .clientClosed: return "client closed the connection"
        case .slowConsumer: return "slow consumer: the client does not read fast enough"
        case .pingTimeout: return "ping timeout"
        case .idle(.noNamespaceConnect(let limit)):
            return "no Socket.IO CONNECT within \(Self.seconds(limit)) of the upgrade: send 40 first"
        case .idle(.unfinishedMessage(let limit)):
            return "fragmented message not finished within \(Self.seconds(limit))"
        case .messageTooLarge(let limit): return "message larger than maxPayload (\(limit) bytes)"
        case .protocolError(let text): return text
        case .serverShutdown: return "server restarting: reconnect"
        case .session(let text): return text
        case .transportClosed: return "transport closed"
        case .transportError(let text): return "transport error: \(text)"
        }
    }

    /// The metric label of the reason.
    public var kind: Kind {
        switch self {
        case .clientClosed: return .clientClosed
        case .slowConsumer: return .slowConsumer
        case .pingTimeout: return .pingTimeout
        case .idle(.noNamespaceConnect): return .connectTimeout
        case .idle(.unfinishedMessage): return .fragmentTimeout
        case .messageTooLarge: return .messageTooLarge
        case .protocolError: return .protocolError
        case .serverShutdown: return .serverShutdown
        case .session: return .session
        case .transportClosed: return .transportClosed
        case .transportError: return .transportError
        }
    }

    /// The WebSocket status code the server's close frame carries; `nil` closes the TCP
    /// connection without a close frame (slow consumers: nothing more can be written).
    var closeCode: WebSocketErrorCode? {
        switch self {
        case .clientClosed, .session: return .normalClosure
        case .slowConsumer, .transportClosed, .transportError: return nil
        case .pingTimeout, .idle: return .policyViolation
        case .messageTooLarge: return .messageTooLarge
        case .protocolError: return .protocolError
        case .serverShutdown: return .goingAway
        }
    }

    private static func seconds(_ amount: TimeAmount) -> String {
        let milliseconds = amount.nanoseconds / 1_000_000
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(milliseconds) ms"
    }
}
