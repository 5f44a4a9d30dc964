import ChatWire
import Foundation

/// What became of one attempt, or of one attack connection.
enum AttackOutcome: Hashable, Sendable, CustomStringConvertible {
    /// The server did what was asked (an ack without an error).
    case accepted
    /// The server refused it with an error ack of this code.
    case refused(ChatErrorCode)
    /// An ack the attacker could not read.
    case unreadableAck
    /// Sent; nothing answers this kind of packet.
    case sent
    /// Not written: the connection's TCP send buffer was full (the gateway had stopped reading it).
    case heldBack
    /// Not started: as many attempts as allowed were still running.
    case skipped
    /// The WebSocket upgrade was answered with this HTTP status (e.g. 429 `too_many_connections`).
    case upgradeRefused(status: Int)
    /// The Socket.IO namespace connect was refused (`44`).
    case namespaceRefused
    /// The server closed the connection with this WebSocket close code (e.g. 1008 for a rate limit).
    case closedByServer(code: UInt16)
    /// The connection ended without a close frame.
    case connectionLost
    /// The TCP connection could not be made.
    case connectFailed
    /// No answer in time.
    case timedOut

    /// The outcome of an ack's JSON array text: `[{"error":…,"code":"…"}]` is a refusal.
    init(ack json: String) {
        guard json.hasPrefix(#"[{"error""#) else {
            self = json.hasPrefix("[") ? .accepted : .unreadableAck
            return
        }
        guard let start = json.range(of: #""code":""#)?.upperBound,
            let end = json[start...].firstIndex(of: "\""),
            let code = ChatErrorCode.allCases.first(where: { $0.code == json[start..<end] })
        else {
            self = .unreadableAck
            return
        }
        self = .refused(code)
    }

    /// True for the outcomes that mean the server turned the attempt away (any refusal, close or limit).
    var isRefusal: Bool {
        switch self {
        case .refused, .upgradeRefused, .namespaceRefused, .closedByServer: true
        case .accepted, .unreadableAck, .sent, .heldBack, .skipped, .connectionLost, .connectFailed, .timedOut: false
        }
    }

    var description: String {
        switch self {
        case .accepted: "accepted"
        case .refused(let code): code.code
        case .unreadableAck: "unreadable ack"
        case .sent: "sent (no answer expected)"
        case .heldBack: "held back (TCP full)"
        case .skipped: "skipped (too many in flight)"
        case .upgradeRefused(let status): "upgrade refused \(status)"
        case .namespaceRefused: "namespace refused"
        case .closedByServer(let code): "closed \(code)"
        case .connectionLost: "connection lost"
        case .connectFailed: "connect failed"
        case .timedOut: "timed out"
        }
    }
}
