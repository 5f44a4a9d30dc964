import ChatLogging
import Logging
import RoomBrokerCore
import ZeroMQ

/// Who may speak on the broker's sockets, checked for every message on the loop thread.
///
/// - With CURVE, each command's `User-Id` (its connection's key, ``ZAPAuthorizer/userID(of:)``) must be
///   in the allow-list as it is now (``reload(_:)`` after SIGHUP), and its routing id bound to that
///   key's name (``RoutingIDBinding``); the peer link's messages must carry the peer's key. The ZAP
///   handler already refuses such handshakes; this check also catches a connection admitted before a
///   reload removed its key (libzmq cannot close one ROUTER peer, so its commands go unanswered).
/// - Without CURVE (`--insecure-loopback`, ipc:// in a private folder), the peer link listens to one
///   connection at a time: the first heard while none is open; others are ignored until it closes.
///
/// A refused message is dropped unanswered, counted (`chat_broker_messages_refused_total{reason}`)
/// and logged (throttled per reason and name).
final class LinkGuard {
    private var authorizer: ZAPAuthorizer?
    private var peerConnection: ZMQConnection?
    private var droppedSoFar = 0
    private let logger: Logger
    private let metrics: BrokerMetrics?
    private let refusals = LogThrottle<String>(limit: 5, per: .seconds(60), maxKeys: 1_000)

    init(curve: BrokerCurve?, logger: Logger, metrics: BrokerMetrics?) {
        authorizer = curve?.authorizer
        self.logger = logger
        self.metrics = metrics
    }

    /// Whether the command `message` (routing id first) may be applied.
    func admitCommand(_ message: ZMQMessage) -> Bool {
        guard let authorizer, let routingID = message.frames.first else { return true }
        switch authorizer.check(
            userID: message.userID,
            routingID: routingID,
            domain: BrokerCurve.Domain.gateways.rawValue
        ) {
        case .success: return true
        case .failure(let refusal):
            refuse(refusal.reason, detail: "\(refusal)", routingID: routingID, userID: message.userID)
            return false
        }
    }

    /// Whether the peer link's `message` comes from the peer.
    func admitPeer(_ message: ZMQMessage) -> Bool {
        if let authorizer {
            switch authorizer.check(userID: message.userID, routingID: [], domain: BrokerCurve.Domain.peer.rawValue) {
            case .success: return true
            case .failure(let refusal):
                refuse(
                    refusal.reason,
                    detail: "\(refusal)",
                    routingID: message.frames.first ?? [],
                    userID: message.userID
                )
                return false
            }
        }
        guard message.connection.descriptor >= 0 else { return true }
        if peerConnection == nil { peerConnection = message.connection }
        guard peerConnection == message.connection else {
            refuse(
                .secondPeer,
                detail: "a second connection to the peer link while the peer's is open",
                routingID: [],
                userID: nil
            )
            return false
        }
        return true
    }

    /// The peer link's connections that opened or closed (without CURVE: the peer's may be replaced).
    func peerConnections(_ events: [ZMQConnectionEvent]) {
        for case .disconnected(let connection) in events where connection == peerConnection {
            peerConnection = nil
        }
    }

    /// Checks messages against `authorizer` from now on; returns what changed on the gateways' sockets.
    func reload(_ authorizer: ZAPAuthorizer) -> KeyChanges {
        let domain = BrokerCurve.Domain.gateways.rawValue
        let changes = KeyChanges(
            old: self.authorizer?.allowLists[domain] ?? [:],
            new: authorizer.allowLists[domain] ?? [:]
        )
        self.authorizer = authorizer
        return changes
    }

    /// Counts and logs the messages `sockets` dropped for having too many parts since the last call.
    func countDropped(_ sockets: [ZMQSocket]) {
        let total = sockets.reduce(0) { $0 + $1.droppedMessages }
        let count = total - droppedSoFar
        droppedSoFar = total
        guard count > 0 else { return }
        metrics?.refused(.tooManyParts, count: count)
        let verdict = refusals.check(RefusedMessageReason.tooManyParts.rawValue)
        guard verdict.admitted else { return }
        logger.warning(
            "message-dropped",
            metadata: [
                "count": "\(count)",
                "reason": "more than \(ZMQSocket.defaultMaxPartsPerMessage) parts in one message",
            ].merging(verdict.metadata) { $1 }
        )
    }

    private func refuse(_ reason: RefusedMessageReason, detail: String, routingID: [UInt8], userID: String?) {
        metrics?.refused(reason)
        let key = userID.map { String($0.prefix(8)) } ?? "none"
        let verdict = refusals.check("\(reason.rawValue) \(key)")
        guard verdict.admitted else { return }
        logger.warning(
            "message-refused",
            metadata: [
                "gateway": "\(String(decoding: routingID.prefix(255), as: UTF8.self))", "key": "\(key)",
                "code": "\(reason.rawValue)", "reason": "\(detail)",
            ].merging(verdict.metadata) { $1 }
        )
    }
}

extension ZAPRefusal {
    /// The metrics' and logs' name of a refused message's reason.
    var reason: RefusedMessageReason {
        switch self {
        case .routingIDNotBound: return .routingIDNotBound
        case .missingUserID: return .missingUserID
        case .malformedRequest, .unsupportedVersion, .notCurve, .unknownDomain, .unknownKey: return .unknownKey
        }
    }
}
