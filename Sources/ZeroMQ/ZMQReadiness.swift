import CZMQ

/// What one ``ZMQPoller/poll(timeoutMilliseconds:)`` found readable, asked by socket or descriptor
/// (not by position, so adding an item to a poller cannot shift what another one means).
public struct ZMQReadiness: Sendable {
    /// Readable sockets (the addresses of their libzmq handles) and descriptors.
    private let sockets: [UInt]
    private let fileDescriptors: [Int32]

    init(sockets: [UInt], fileDescriptors: [Int32]) {
        self.sockets = sockets
        self.fileDescriptors = fileDescriptors
    }

    /// Nothing readable (a timeout, or an interrupted wait).
    static let none = ZMQReadiness(sockets: [], fileDescriptors: [])

    /// Whether `socket` has a message to read (false for a socket the poller does not watch).
    public func isReadable(_ socket: ZMQSocket) -> Bool {
        guard let handle = socket.rawHandle else { return false }
        return sockets.contains(UInt(bitPattern: handle))
    }

    /// Whether `fileDescriptor` is readable (false for one the poller does not watch).
    public func isReadable(fileDescriptor: Int32) -> Bool {
        fileDescriptors.contains(fileDescriptor)
    }

    /// Whether anything is readable.
    public var isEmpty: Bool { sockets.isEmpty && fileDescriptors.isEmpty }
}
