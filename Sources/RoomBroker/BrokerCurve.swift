import ZeroMQ

/// The broker's CURVE keys (the ZeroMQ guide's Ironhouse): every socket is a CURVE server with the
/// broker's key pair, and the ZAP handler lets in only allowed client keys, per ZAP domain: the gateways'
/// ROUTER and XPUB take the keys of `--authorized-keys`, the peer ROUTER only the peer broker's key. The
/// DEALER to the peer is a CURVE client pinning that key.
struct BrokerCurve: Sendable {
    /// The ZAP domain of each kind of socket.
    enum Domain: String {
        /// The ROUTER (commands) and XPUB (broadcasts) sockets that gateways connect to.
        case gateways = "chat-gateways"
        /// The ROUTER the peer broker's DEALER connects to.
        case peer = "chat-peer"
    }

    /// This broker's key pair (`--curve-secret-key`).
    var keyPair: CurveKeyPair
    /// The keys allowed on the gateways' sockets, with their names (`--authorized-keys`).
    var authorizedKeys: [CurvePublicKey: String]
    /// The peer broker's key, pinned by the peer DEALER and the only one allowed on the peer ROUTER
    /// (`--peer-public-key`); nil for a broker alone.
    var peerPublicKey: CurvePublicKey? = nil
    /// The folder `authorizedKeys` was read from, read again on SIGHUP (``KeyReload``).
    var authorizedKeysDirectory: String? = nil

    /// The ZAP decisions for this broker's domains.
    var authorizer: ZAPAuthorizer {
        var lists: [String: [CurvePublicKey: String]] = [Domain.gateways.rawValue: authorizedKeys]
        if let peerPublicKey { lists[Domain.peer.rawValue] = [peerPublicKey: "peer"] }
        return ZAPAuthorizer(allowLists: lists)
    }

    /// Makes `socket` a CURVE server of `domain`; call before `bind`.
    func serve(on socket: ZMQSocket, domain: Domain) throws(ZMQError) {
        try socket.set(.curveServer(keyPair))
        try socket.set(.zapDomain(domain.rawValue))
    }
}
