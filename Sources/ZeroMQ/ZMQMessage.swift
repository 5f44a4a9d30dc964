/// One received multipart message and what libzmq knows of its sender.
public struct ZMQMessage: Sendable, Equatable {
    /// The parts, in order (on a ROUTER the first is the sender's routing id).
    public var frames: [[UInt8]]
    /// The connection it came through (descriptor -1 when libzmq has none, e.g. inproc).
    public var connection: ZMQConnection
    /// The `User-Id` the ZAP handler gave the sender's connection (``ZAPAuthorizer``: its public key in
    /// Z85); nil without ZAP (no CURVE).
    public var userID: String?
}
