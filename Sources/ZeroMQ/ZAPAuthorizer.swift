/// The decisions of a ZAP handler (ZeroMQ RFC 27; the ZeroMQ guide's Ironhouse pattern): a CURVE client
/// may connect to a socket of ZAP domain D only if its public key is in D's allow-list. Pure: request
/// frames in, reply frames out; ``ZAPHandler`` carries it on the socket. An admitted connection's
/// `User-Id` is its key, which ``check(userID:routingID:domain:)`` looks up again for each message, with
/// the routing id it came under (libzmq's ZAP request names the server socket's routing id, not the
/// client's, so the binding of routing ids to keys, ``RoutingIDBinding``, is checked per message).
public struct ZAPAuthorizer: Sendable {
    /// The ZAP version this handler speaks.
    static let version: [UInt8] = Array("1.0".utf8)
    /// The most bytes of the domain, address and mechanism kept for logs.
    static let maxTextBytes = 255

    /// Per ZAP domain, the allowed public keys and their names.
    public let allowLists: [String: [CurvePublicKey: String]]
    /// Per ZAP domain, the names of the allowed keys by the `User-Id` they are admitted under.
    private let namesByUserID: [String: [String: String]]

    /// A handler allowing, per ZAP domain, the keys of that domain's allow-list (key -> name: for logs,
    /// and the routing ids the key may use, ``RoutingIDBinding``).
    public init(allowLists: [String: [CurvePublicKey: String]]) {
        self.allowLists = allowLists
        namesByUserID = allowLists.mapValues { list in
            Dictionary(list.map { (Self.userID(of: $0.key), $0.value) }, uniquingKeysWith: { first, _ in first })
        }
    }

    /// The `User-Id` a connection with `key` is admitted under: the key in Z85. A key, unlike a name,
    /// cannot be given to another key by a reload, so a connection admitted before keeps its identity.
    public static func userID(of key: CurvePublicKey) -> String { key.z85 }

    /// Checks one message of an admitted connection against the allow-lists as they are now: its
    /// `User-Id` (``ZMQMessage/userID``) must still be allowed in `domain`, and its routing id (empty for
    /// sockets that give none) bound to that key's name. Returns the key's name, or why it is refused.
    public func check(userID: String?, routingID: [UInt8], domain: String) -> Result<String, ZAPRefusal> {
        guard let userID else { return .failure(.missingUserID) }
        guard let name = namesByUserID[domain]?[userID] else { return .failure(.unknownKey) }
        guard routingID.isEmpty || RoutingIDBinding.isBound(routingID, to: name) else {
            return .failure(.routingIDNotBound(name: name))
        }
        return .success(name)
    }

    /// The reply to one request (the frames after the REP envelope) and what to log.
    public func decide(_ frames: [[UInt8]]) -> ZAPDecision {
        let requestID = frames.count > 1 ? frames[1] : []
        func text(_ index: Int) -> String {
            guard frames.count > index else { return "" }
            return String(decoding: frames[index].prefix(Self.maxTextBytes), as: UTF8.self)
        }
        var decision = ZAPDecision(reply: [], refusal: nil, domain: text(2), address: text(3), key: nil, name: nil)
        if frames.count < 6 {
            decision.refusal = .malformedRequest
        } else if frames[0] != Self.version {
            decision.refusal = .unsupportedVersion
        } else if text(5) != "CURVE" {
            decision.refusal = .notCurve(mechanism: text(5))
        } else if frames.count != 7 || frames[6].count != CurvePublicKey.byteCount {
            decision.refusal = .malformedRequest
        } else {
            decision.key = CurvePublicKey(bytes: frames[6])
            if let allowed = allowLists[decision.domain] {
                if let key = decision.key, let name = allowed[key] {
                    decision.name = name
                } else {
                    decision.refusal = .unknownKey
                }
            } else {
                decision.refusal = .unknownDomain(decision.domain)
            }
        }
        let status = decision.refusal?.statusCode ?? "200"
        let statusText = decision.refusal?.description ?? "OK"
        let userID = decision.allowed ? decision.key.map(Self.userID(of:)) ?? "" : ""
        decision.reply = [Self.version, requestID, Array(status.utf8), Array(statusText.utf8), Array(userID.utf8), []]
        return decision
    }
}
