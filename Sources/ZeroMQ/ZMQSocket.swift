import CZMQ

/// One libzmq socket. Like libzmq sockets, it is not thread-safe: create and use it on one thread.
///
/// Sockets are made with linger 0, so closing never blocks on unsent messages.
public final class ZMQSocket {
    private var handle: UnsafeMutableRawPointer?
    /// The context stays alive as long as any of its sockets.
    private let context: ZMQContext
    /// The pattern of this socket.
    public let type: ZMQSocketType
    /// The largest inbound message part asked for (``ZMQSocketOption/maxMessageSize(_:)``), if any.
    private var maxMessageSize: Int64?
    /// Whether the socket uses CURVE (the limit then counts the encrypted frame: see ``curveMessageOverhead``).
    private var usesCurve = false
    /// The most parts of one received message that are kept; a longer message is dropped (read to its
    /// end, its parts discarded as they come) and counted in ``droppedMessages``, so a peer cannot make
    /// the receiver hold an unbounded list of parts. Every message of this project has at most 7.
    public var maxPartsPerMessage = ZMQSocket.defaultMaxPartsPerMessage
    /// Messages dropped for having more than ``maxPartsPerMessage`` parts since the socket was made.
    public private(set) var droppedMessages = 0
    /// The default of ``maxPartsPerMessage``.
    public static let defaultMaxPartsPerMessage = 16

    /// Bytes CURVE adds to each message part on the wire (`\x07MESSAGE`, an 8-byte nonce, a flags byte
    /// and a 16-byte MAC): libzmq checks `ZMQ_MAXMSGSIZE` against that frame, not the plaintext.
    static let curveMessageOverhead: Int64 = 33
    /// The least `ZMQ_MAXMSGSIZE` of a CURVE socket: the handshake's commands (INITIATE carries the
    /// client's vouch and metadata, a routing id of up to 255 bytes among them) pass the same check.
    static let curveHandshakeBytes: Int64 = 2_048

    init(context: ZMQContext, type: ZMQSocketType) throws(ZMQError) {
        guard let handle = zmq_socket(context.rawHandle, type.rawValue) else {
            throw ZMQError.last("zmq_socket")
        }
        self.handle = handle
        self.context = context
        self.type = type
        try setOption(ZMQ_LINGER, 0)
    }

    deinit { close() }

    /// The raw socket, for ``ZMQPoller``.
    var rawHandle: UnsafeMutableRawPointer? { handle }

    private func live(_ operation: String) throws(ZMQError) -> UnsafeMutableRawPointer {
        guard let handle else { throw ZMQError.socketClosed(operation: operation) }
        return handle
    }

    /// Binds to an endpoint such as `tcp://127.0.0.1:5555` or `ipc:///tmp/chat.sock`.
    public func bind(_ endpoint: String) throws(ZMQError) {
        if zmq_bind(try live("bind"), endpoint) != 0 { throw ZMQError.last("bind(\(endpoint))") }
    }

    /// The endpoint of the last bind, with the port the system chose for `tcp://host:*` (nil when closed).
    public var lastEndpoint: String? {
        guard let handle else { return nil }
        var buffer = [CChar](repeating: 0, count: 256)
        var size = buffer.count
        guard zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size) == 0 else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Connects to an endpoint; libzmq reconnects by itself when the peer goes away.
    public func connect(_ endpoint: String) throws(ZMQError) {
        if zmq_connect(try live("connect"), endpoint) != 0 { throw ZMQError.last("connect(\(endpoint))") }
    }

    /// Sets a typed option.
    public func set(_ option: ZMQSocketOption) throws(ZMQError) {
        try option.apply(to: self)
    }

    /// Sets an integer option (`ZMQ_SNDHWM`, `ZMQ_LINGER`, ...).
    func setOption(_ option: Int32, _ value: Int32) throws(ZMQError) {
        var value = value
        let handle = try live("setsockopt")
        if zmq_setsockopt(handle, option, &value, MemoryLayout<Int32>.size) != 0 {
            throw ZMQError.last("setsockopt(\(option))")
        }
    }

    /// Sets a 64-bit integer option (`ZMQ_MAXMSGSIZE`).
    func setOption(_ option: Int32, int64 value: Int64) throws(ZMQError) {
        var value = value
        let handle = try live("setsockopt")
        if zmq_setsockopt(handle, option, &value, MemoryLayout<Int64>.size) != 0 {
            throw ZMQError.last("setsockopt(\(option))")
        }
    }

    /// Sets `ZMQ_MAXMSGSIZE` to `bytes` of payload per part (-1: no limit), allowing for CURVE's framing
    /// on a CURVE socket, whichever of the two options was set first.
    func setMaxMessageSize(_ bytes: Int64?, curve: Bool) throws(ZMQError) {
        maxMessageSize = bytes ?? maxMessageSize
        usesCurve = usesCurve || curve
        guard let limit = maxMessageSize else { return }
        let wire = limit < 0 || !usesCurve ? limit : max(limit + Self.curveMessageOverhead, Self.curveHandshakeBytes)
        try setOption(ZMQ_MAXMSGSIZE, int64: wire)
    }

    /// Sets a binary option (`ZMQ_SUBSCRIBE`, `ZMQ_ROUTING_ID`, ...).
    func setOption(_ option: Int32, bytes: [UInt8]) throws(ZMQError) {
        let handle = try live("setsockopt")
        let result = bytes.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, $0.count) }
        if result != 0 { throw ZMQError.last("setsockopt(\(option))") }
    }

    /// Subscribes a SUB socket to messages whose first frame starts with `prefix`.
    public func subscribe(_ prefix: [UInt8]) throws(ZMQError) {
        try setOption(ZMQ_SUBSCRIBE, bytes: prefix)
    }

    /// Removes one earlier subscription to `prefix`.
    public func unsubscribe(_ prefix: [UInt8]) throws(ZMQError) {
        try setOption(ZMQ_UNSUBSCRIBE, bytes: prefix)
    }

    /// Sends one multipart message. Returns false when `dontWait` is set and the send would block
    /// (or, on a ROUTER with `ZMQ_ROUTER_MANDATORY`, the peer is unknown with `EHOSTUNREACH`).
    @discardableResult
    public func send(_ frames: [[UInt8]], dontWait: Bool = false) throws(ZMQError) -> Bool {
        let handle = try live("send")
        for (index, frame) in frames.enumerated() {
            var flags: Int32 = index < frames.count - 1 ? ZMQ_SNDMORE : 0
            if dontWait { flags |= ZMQ_DONTWAIT }
            let sent = frame.withUnsafeBytes { zmq_send(handle, $0.baseAddress, $0.count, flags) }
            if sent < 0 {
                let code = zmq_errno()
                // Only the first frame can be refused as a whole; libzmq queues the rest atomically.
                if index == 0 && (code == EAGAIN || code == EHOSTUNREACH) { return false }
                throw ZMQError.last("send")
            }
        }
        return true
    }

    /// Receives one multipart message, or nil when `dontWait` is set and none is waiting.
    public func receive(dontWait: Bool = false) throws(ZMQError) -> [[UInt8]]? {
        try receiveMessage(dontWait: dontWait, metadata: false)?.frames
    }

    /// Receives one multipart message with the connection it came through (on a ROUTER: the peer's
    /// connection, as ``ZMQConnectionMonitor`` names it), or nil when `dontWait` is set and none is waiting.
    public func receiveWithConnection(
        dontWait: Bool = false
    ) throws(ZMQError) -> (
        frames: [[UInt8]], connection: ZMQConnection
    )? {
        guard let message = try receiveMessage(dontWait: dontWait, metadata: true) else { return nil }
        return (message.frames, message.connection)
    }

    /// Receives one multipart message with its connection and the `User-Id` its peer was admitted
    /// under (``ZMQMessage``), or nil when `dontWait` is set and none is waiting. A message of more than
    /// ``maxPartsPerMessage`` parts is read to its end without keeping its parts, counted in
    /// ``droppedMessages`` and skipped.
    public func receiveMessage(dontWait: Bool = false) throws(ZMQError) -> ZMQMessage? {
        try receiveMessage(dontWait: dontWait, metadata: true)
    }

    private func receiveMessage(dontWait: Bool, metadata: Bool) throws(ZMQError) -> ZMQMessage? {
        let handle = try live("receive")
        var message = zmq_msg_t()
        zmq_msg_init(&message)
        defer { zmq_msg_close(&message) }
        var received = ZMQMessage(frames: [], connection: ZMQConnection(descriptor: -1), userID: nil)
        var parts = 0
        var dropped = 0
        while true {
            if zmq_msg_recv(&message, handle, dontWait ? ZMQ_DONTWAIT : 0) < 0 {
                if parts == 0 && zmq_errno() == EAGAIN { return nil }
                throw ZMQError.last("receive")
            }
            parts += 1
            if metadata { Self.readMetadata(of: &message, into: &received) }
            if parts <= maxPartsPerMessage {
                let size = zmq_msg_size(&message)
                if let data = zmq_msg_data(&message), size > 0 {
                    received.frames.append(Array(UnsafeRawBufferPointer(start: data, count: size)))
                } else {
                    received.frames.append([])
                }
            } else if parts == maxPartsPerMessage + 1 {
                // Too many parts: the rest are read (libzmq delivers a message whole) but not kept.
                received.frames = []
            }
            if zmq_msg_more(&message) != 0 { continue }
            guard parts > maxPartsPerMessage else { return received }
            // Dropped: on to the next message (nil when none waits and `dontWait` is set).
            droppedMessages += 1
            dropped += 1
            // A stream of them does not hold a caller that asked not to wait.
            if dontWait && dropped >= Self.defaultMaxPartsPerMessage { return nil }
            received = ZMQMessage(frames: [], connection: ZMQConnection(descriptor: -1), userID: nil)
            parts = 0
        }
    }

    /// The connection and `User-Id` of a part, where libzmq knows them (the parts a peer sent carry
    /// them; a ROUTER's routing-id part carries the `User-Id` of the message it precedes).
    private static func readMetadata(of message: inout zmq_msg_t, into received: inout ZMQMessage) {
        let descriptor = zmq_msg_get(&message, ZMQ_SRCFD)
        if descriptor >= 0 { received.connection = ZMQConnection(descriptor: descriptor) }
        if received.userID == nil, let text = zmq_msg_gets(&message, "User-Id") {
            // The process's own ZAP handler wrote it (``ZAPAuthorizer``: 40 characters).
            received.userID = String(cString: text)
        }
    }

    /// Closes the socket; later calls throw ``ZMQError/socketClosed(operation:)``.
    public func close() {
        if let handle {
            zmq_close(handle)
            self.handle = nil
        }
    }
}
