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

    /// A poller over `items`.
    public init(_ items: [Item]) {
        self.items = items
    }

    /// Blocks up to `timeoutMilliseconds` (-1: forever) and returns what is readable; ask it by
    /// socket or descriptor. An interrupted wait (`EINTR`) returns nothing readable.
    public func poll(timeoutMilliseconds: Int) throws(ZMQError) -> ZMQReadiness {
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
            if zmq_errno() == EINTR { return .none }
            throw ZMQError.last("poll")
        }
        guard count > 0 else { return .none }
        var sockets: [UInt] = []
        var fileDescriptors: [Int32] = []
        for item in raw where item.revents & Int16(ZMQ_POLLIN) != 0 {
            if let socket = item.socket {
                sockets.append(UInt(bitPattern: socket))
            } else {
                fileDescriptors.append(item.fd)
            }
        }
        return ZMQReadiness(sockets: sockets, fileDescriptors: fileDescriptors)
    }
}
