/// One transport connection of a socket (a TCP or IPC stream to one peer), named by its file
/// descriptor: a message's connection (``ZMQSocket/receiveWithConnection(dontWait:)``) and a monitor
/// event's (``ZMQConnectionMonitor``) are the same when the descriptors are, until it closes (the
/// kernel may then give the number to a new connection).
public struct ZMQConnection: Hashable, Sendable {
    /// The descriptor (-1: unknown, e.g. an inproc peer).
    public var descriptor: Int32

    /// The connection on `descriptor`.
    public init(descriptor: Int32) {
        self.descriptor = descriptor
    }
}
