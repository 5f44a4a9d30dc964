/// What a ``ZMQConnectionMonitor`` reports about one connection of the socket it watches.
public enum ZMQConnectionEvent: Equatable, Sendable {
    /// A peer connected to the bound socket (`ZMQ_EVENT_ACCEPTED`).
    case accepted(ZMQConnection)
    /// A connection closed: the peer went away (a killed process's sockets close at once) or libzmq
    /// dropped it (`ZMQ_EVENT_DISCONNECTED`). Its descriptor may be reused by a later connection.
    case disconnected(ZMQConnection)
}
