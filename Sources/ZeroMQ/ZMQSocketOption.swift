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
    /// disconnected before its bytes are buffered (-1: no limit).
    case maxMessageSize(Int64)
    /// `ZMQ_LINGER`: how long closing waits to send queued messages, ms (-1: forever).
    case linger(milliseconds: Int32)

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
        case .maxMessageSize(let bytes): try socket.setOption(ZMQ_MAXMSGSIZE, int64: bytes)
        case .linger(let milliseconds): try socket.setOption(ZMQ_LINGER, milliseconds)
        }
    }
}
