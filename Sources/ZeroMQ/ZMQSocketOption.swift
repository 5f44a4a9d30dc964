import CZMQ

/// The socket options this project sets, typed, so that no module but `ZeroMQ` needs libzmq's constants.
public enum ZMQSocketOption: Sendable, Equatable {
    /// `ZMQ_ROUTING_ID`: the identity a ROUTER peer sees for this socket.
    case routingID([UInt8])
    /// `ZMQ_IMMEDIATE`: queue messages only to completed connections (fail fast while none is up).
    case immediate(Bool)
    /// `ZMQ_SNDHWM`: most outbound messages queued per peer (0: no limit).
    case sendHighWaterMark(Int32)
    /// `ZMQ_RCVHWM`: most inbound messages queued per peer (0: no limit).
    case receiveHighWaterMark(Int32)
    /// `ZMQ_ROUTER_MANDATORY`: a ROUTER reports an unknown peer instead of silently dropping.
    case routerMandatory(Bool)
    /// `ZMQ_ROUTER_HANDOVER`: a new connection with a known routing id takes it over.
    case routerHandover(Bool)
    /// `ZMQ_XPUB_VERBOSE`: an XPUB passes on every subscription, not only the first per topic.
    case xpubVerbose(Bool)
    /// `ZMQ_MAXMSGSIZE`: the largest inbound message part in bytes; a peer sending a larger one is
    /// disconnected before its bytes are buffered (-1: no limit). On a CURVE socket libzmq counts the
    /// encrypted frame, so the limit set is larger by CURVE's framing, and at least its handshake.
    case maxMessageSize(Int64)
    /// `ZMQ_LINGER`: how long closing waits to send queued messages, ms (-1: forever).
    case linger(milliseconds: Int32)
    /// `ZMQ_CURVE_SERVER` with `ZMQ_CURVE_SECRETKEY`: every connection is encrypted and its client's
    /// key is checked by the context's ZAP handler (``ZAPHandler``). Set before `bind`.
    case curveServer(CurveKeyPair)
    /// `ZMQ_CURVE_PUBLICKEY`, `ZMQ_CURVE_SECRETKEY` and `ZMQ_CURVE_SERVERKEY`: connect only to the
    /// server holding the secret of `serverKey` (pinned), as `keyPair`. Set before `connect`.
    case curveClient(CurveKeyPair, serverKey: CurvePublicKey)
    /// `ZMQ_ZAP_DOMAIN`: the domain a CURVE server names in its ZAP requests (which allow-list applies).
    case zapDomain(String)

    /// Applies the option to `handle`.
    func apply(to socket: ZMQSocket) throws(ZMQError) {
        switch self {
        case .routingID(let bytes): try socket.setOption(ZMQ_ROUTING_ID, bytes: bytes)
        case .immediate(let on): try socket.setOption(ZMQ_IMMEDIATE, on ? 1 : 0)
        case .sendHighWaterMark(let count): try socket.setOption(ZMQ_SNDHWM, count)
        case .receiveHighWaterMark(let count): try socket.setOption(ZMQ_RCVHWM, count)
        case .routerMandatory(let on): try socket.setOption(ZMQ_ROUTER_MANDATORY, on ? 1 : 0)
        case .routerHandover(let on): try socket.setOption(ZMQ_ROUTER_HANDOVER, on ? 1 : 0)
        case .xpubVerbose(let on): try socket.setOption(ZMQ_XPUB_VERBOSE, on ? 1 : 0)
        case .maxMessageSize(let bytes): try socket.setMaxMessageSize(bytes, curve: false)
        case .linger(let milliseconds): try socket.setOption(ZMQ_LINGER, milliseconds)
        case .curveServer(let pair):
            try socket.setOption(ZMQ_CURVE_SERVER, 1)
            try socket.setOption(ZMQ_CURVE_SECRETKEY, bytes: pair.secretKey)
            try socket.setMaxMessageSize(nil, curve: true)
        case .curveClient(let pair, let serverKey):
            try socket.setOption(ZMQ_CURVE_SERVERKEY, bytes: serverKey.bytes)
            try socket.setOption(ZMQ_CURVE_PUBLICKEY, bytes: pair.publicKey.bytes)
            try socket.setOption(ZMQ_CURVE_SECRETKEY, bytes: pair.secretKey)
            try socket.setMaxMessageSize(nil, curve: true)
        case .zapDomain(let domain): try socket.setOption(ZMQ_ZAP_DOMAIN, bytes: Array(domain.utf8))
        }
    }
}
