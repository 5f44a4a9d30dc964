/// The decisions of a ZAP handler (ZeroMQ RFC 27; the ZeroMQ guide's Ironhouse pattern): a CURVE client
/// may connect to a socket of ZAP domain D only if its public key is in D's allow-list. Pure: request
/// frames in, reply frames out; ``ZAPHandler`` carries it on the socket.
public struct ZAPAuthorizer: Sendable {
    /// The ZAP version this handler speaks.
    static let version: [UInt8] = Array("1.0".utf8)
    /// The most bytes of the domain, address and mechanism kept for logs.
    static let maxTextBytes = 255

    /// Per ZAP domain, the allowed public keys and their names.
    public let allowLists: [String: [CurvePublicKey: String]]

    /// A handler allowing, per ZAP domain, the keys of that domain's allow-list (key -> name for logs).
    public init(allowLists: [String: [CurvePublicKey: String]]) {
        self.allowLists = allowLists
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
        decision.reply = [
            Self.version, requestID, Array(status.utf8), Array(statusText.utf8), Array((decision.name ?? "").utf8), [],
        ]
        return decision
    }
}
