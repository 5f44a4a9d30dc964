import CZMQ

/// Reports when peers connect to and disconnect from a socket (`zmq_socket_monitor`), read from a PAIR
/// socket to poll beside the watched one. Use it on the thread that owns the watched socket.
public final class ZMQConnectionMonitor {
    /// The socket the events arrive on: poll it, then call ``events()``.
    public let socket: ZMQSocket
    /// Events read in one call at most, so a storm of connections cannot hold the loop.
    public static let maxEventsPerCall = 1_024

    /// Starts monitoring `watched` (accepted and disconnected connections) through an inproc endpoint
    /// named after `name` (unique within `context`).
    public init(_ watched: ZMQSocket, name: String, context: ZMQContext) throws(ZMQError) {
        let endpoint = "inproc://monitor-\(name)"
        guard let handle = watched.rawHandle else { throw ZMQError.socketClosed(operation: "monitor") }
        if zmq_socket_monitor(handle, endpoint, ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) != 0 {
            throw ZMQError.last("zmq_socket_monitor(\(endpoint))")
        }
        socket = try context.socket(.pair)
        try socket.connect(endpoint)
    }

    /// The events waiting, oldest first (at most ``maxEventsPerCall``); empty when none is.
    public func events() throws(ZMQError) -> [ZMQConnectionEvent] {
        var events: [ZMQConnectionEvent] = []
        while events.count < Self.maxEventsPerCall, let frames = try socket.receive(dontWait: true) {
            if let event = Self.decode(frames) { events.append(event) }
        }
        return events
    }

    /// An event message: a 6-byte frame (the event number, then its value: here the descriptor; both in
    /// the host's byte order, as libzmq copies them) and the endpoint.
    static func decode(_ frames: [[UInt8]]) -> ZMQConnectionEvent? {
        guard let first = frames.first, first.count == 6 else { return nil }
        let (number, value) = first.withUnsafeBytes {
            ($0.loadUnaligned(as: UInt16.self), $0.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
        }
        let connection = ZMQConnection(descriptor: Int32(bitPattern: value))
        switch Int32(number) {
        case ZMQ_EVENT_ACCEPTED: return .accepted(connection)
        case ZMQ_EVENT_DISCONNECTED: return .disconnected(connection)
        default: return nil
        }
    }

    /// Stops reading events (the watched socket stops sending them when it closes).
    public func close() {
        socket.close()
    }
}
