import CZMQ

/// Waits on several sockets and plain file descriptors at once (`zmq_poll`).
public struct ZMQPoller {
    /// What one poll entry watches.
    public enum Item {
        /// A ZeroMQ socket, for readable messages.
        case socket(ZMQSocket)
        /// A plain file descriptor (an eventfd, a pipe), for readability.
        case fileDescriptor(Int32)
    }

    private var items: [Item]

    /// A poller over `items`; ``poll(timeoutMilliseconds:)`` answers in the same order.
    public init(_ items: [Item]) {
        self.items = items
    }

    /// Blocks up to `timeoutMilliseconds` (-1: forever) and returns, per item, whether it is readable.
    /// An interrupted wait (`EINTR`) returns all false.
    public func poll(timeoutMilliseconds: Int) throws(ZMQError) -> [Bool] {
        var raw: [zmq_pollitem_t] = []
        raw.reserveCapacity(items.count)
        for item in items {
            switch item {
            case .socket(let socket):
                guard let handle = socket.rawHandle else { throw ZMQError.socketClosed(operation: "poll") }
                raw.append(zmq_pollitem_t(socket: handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0))
            case .fileDescriptor(let fd):
                raw.append(zmq_pollitem_t(socket: nil, fd: fd, events: Int16(ZMQ_POLLIN), revents: 0))
            }
        }
        let count = raw.withUnsafeMutableBufferPointer {
            zmq_poll($0.baseAddress, Int32($0.count), timeoutMilliseconds)
        }
        if count < 0 {
            if zmq_errno() == EINTR { return Array(repeating: false, count: items.count) }
            throw ZMQError.last("poll")
        }
        return raw.map { $0.revents & Int16(ZMQ_POLLIN) != 0 }
    }
}
