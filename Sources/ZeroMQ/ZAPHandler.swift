/// The ZAP handler of one context: a REP socket bound to `inproc://zeromq.zap.01`, which libzmq asks
/// about every connection to a CURVE server socket of the same context. Create it before binding those
/// sockets (with no handler bound, libzmq lets every CURVE client in), poll ``socket`` with them, and
/// call ``answerPending()`` when it is readable. Like every socket, use it on one thread.
public final class ZAPHandler {
    /// The endpoint libzmq sends ZAP requests to.
    public static let endpoint = "inproc://zeromq.zap.01"
    /// The most requests answered per call, so one burst of handshakes cannot starve the caller's loop.
    public static let batchLimit = 1_000

    /// The REP socket, for the caller's poller.
    public let socket: ZMQSocket
    /// The decisions it gives; replace it (``replace(_:)``) to reload the allow-lists.
    public private(set) var authorizer: ZAPAuthorizer

    /// Binds the handler in `context`; fails if the context already has one.
    public init(context: ZMQContext, authorizer: ZAPAuthorizer) throws(ZMQError) {
        socket = try context.socket(.rep)
        self.authorizer = authorizer
        // Requests come from libzmq itself (a key of 32 bytes, a peer address and routing id).
        try socket.set(.maxMessageSize(1_024))
        try socket.bind(Self.endpoint)
    }

    /// Answers every waiting request (at most ``batchLimit``) and returns the decisions, in order.
    public func answerPending() throws(ZMQError) -> [ZAPDecision] {
        var decisions: [ZAPDecision] = []
        while decisions.count < Self.batchLimit, let frames = try socket.receive(dontWait: true) {
            let decision = authorizer.decide(frames)
            try socket.send(decision.reply)
            decisions.append(decision)
        }
        return decisions
    }

    /// Decides later handshakes with `authorizer` (connections admitted before stay connected: check
    /// their messages with ``ZAPAuthorizer/check(userID:routingID:domain:)``).
    public func replace(_ authorizer: ZAPAuthorizer) {
        self.authorizer = authorizer
    }

    /// Closes the socket.
    public func close() {
        socket.close()
    }
}
