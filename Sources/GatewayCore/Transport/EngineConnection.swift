import ChatAPI
import ChatWire
import Logging
import NIOCore
import NIOWebSocket
import SocketIO

/// One Engine.IO v4 connection over one WebSocket.
///
/// It lives on its channel's event loop: `id`, `sid`, `remoteAddress`, `clientAddress` and `eventLoop`
/// may be read anywhere, every other member must be used on `eventLoop` only (checked with a precondition).
/// To reach it from another thread, hop first: `connection.eventLoop.execute { connection.send(...) }`.
///
/// Fan-out: build a frame once with `WebSocketFrameBuilder.textFrame(_:)` (or a batch of frames into one
/// buffer with `writeTextFrame(_:into:)`), then per connection `write(frame:)` each slice due and
/// `writeAndFlush(frame:)` the last one (or `flush()`): one flush, so one gathered write, per batch.
///
/// Deadlines (all on the event loop's monotonic clock): the client must send a Socket.IO CONNECT
/// within `connectTimeout` of the upgrade (the session reports it with `namespaceDidConnect()`), and
/// answer each ping within `pingTimeout`.
///
/// Reading: `pauseReading(until:)` stops taking bytes from the socket for a while (the session does
/// so when a client's token bucket is empty), and a closing connection reads nothing more. Bytes the
/// client sends meanwhile wait in the kernel, and TCP flow control slows the client down.
public final class EngineConnection: @unchecked Sendable {
    /// Process-unique, increasing id of the underlying TCP connection.
    public let id: UInt64
    /// The Engine.IO session id sent in the open packet (20 URL-safe random characters).
    public let sid: String
    /// The TCP peer as `ip:port` (`[ip]:port` for IPv6), or `"unknown"`, for logs.
    public let remoteAddress: String
    /// The client's address: the peer, or the address a trusted proxy forwarded for.
    /// Per-address limits use its `rateLimitKey`.
    public let clientAddress: ClientAddress
    /// The event loop of the connection's channel; use the connection only there.
    public let eventLoop: any EventLoop

    /// Timing and size values announced in the open packet.
    struct Settings {
        var pingInterval: TimeAmount
        var pingTimeout: TimeAmount
        var maxPayload: Int
        var connectTimeout: TimeAmount
    }

    private enum State {
        case idle
        case open
        case closing
        case closed
    }

    private let settings: Settings
    private let logger: Logger
    private let makeDelegate: @Sendable (EngineConnection) -> any EngineConnectionDelegate
    // Event-loop confined state.
    private var state = State.idle
    private var context: ChannelHandlerContext?
    private var delegate: (any EngineConnectionDelegate)?
    private var closeReason: CloseReason?
    private var connectDeadline: Scheduled<Void>?
    private var pingTask: Scheduled<Void>?
    private var pongDeadline: Scheduled<Void>?
    private var closeFallback: Scheduled<Void>?
    /// The end of the current read pause and the task that ends it.
    private var readPause: (until: NIODeadline, resume: Scheduled<Void>)?
    /// A `read()` came down the pipeline while reading was paused; it is passed on when the pause ends.
    private var readWithheld = false

    init(
        id: UInt64,
        remoteAddress: String,
        clientAddress: ClientAddress,
        eventLoop: any EventLoop,
        settings: Settings,
        logger: Logger,
        makeDelegate: @escaping @Sendable (EngineConnection) -> any EngineConnectionDelegate
    ) {
        self.id = id
        self.sid = Self.makeSessionID()
        self.remoteAddress = remoteAddress
        self.clientAddress = clientAddress
        self.eventLoop = eventLoop
        self.settings = settings
        // The shared logger, not a copy with this connection's metadata: a copy costs ~500 bytes per
        // connection for lines that are rarely printed. ``logMetadata(_:)`` adds it per line instead.
        self.logger = logger
        self.makeDelegate = makeDelegate
    }

    // MARK: Public API

    /// Whether the connection is open (the open packet was sent and no close has started).
    public var isOpen: Bool {
        eventLoop.preconditionInEventLoop()
        return state == .open
    }

    /// Sends the Engine.IO message packet `"4" + message` as one text frame and flushes.
    /// Does nothing once the connection is closing.
    public func send(message: String) {
        eventLoop.preconditionInEventLoop()
        guard state == .open, let context else { return }
        context.writeAndFlush(
            NIOAny(WebSocketFrameBuilder.engineMessageFrame(message, allocator: context.channel.allocator)),
            promise: nil
        )
    }

    /// Queues a complete frame built by `WebSocketFrameBuilder` (normally
    /// `engineMessageFrame(_:)`) without flushing; call `flush()` after a batch.
    /// Does nothing once the connection is closing.
    public func write(frame: ByteBuffer) {
        eventLoop.preconditionInEventLoop()
        guard state == .open, let context else { return }
        context.write(NIOAny(frame), promise: nil)
    }

    /// Queues a complete frame like `write(frame:)` and flushes it with every frame queued before:
    /// the last write of a fan-out pass to this connection.
    public func writeAndFlush(frame: ByteBuffer) {
        eventLoop.preconditionInEventLoop()
        guard state == .open, let context else { return }
        context.writeAndFlush(NIOAny(frame), promise: nil)
    }

    /// Flushes frames queued with `write(frame:)`.
    public func flush() {
        eventLoop.preconditionInEventLoop()
        context?.flush()
    }

    /// Closes the connection for a reason the application chose: sends a WebSocket close frame with
    /// `code` (default 1000) carrying `reason`, then closes the TCP connection. The delegate's
    /// `engineConnectionDidClose` follows with `.session(reason)`.
    public func close(reason: String, code: WebSocketErrorCode = .normalClosure) {
        eventLoop.preconditionInEventLoop()
        closeTransport(.session(reason), code: code)
    }

    /// Closes the connection with one of the transport's reasons and its close code.
    public func close(_ reason: CloseReason) {
        eventLoop.preconditionInEventLoop()
        closeTransport(reason)
    }

    /// Stops reading from the socket until `deadline` (on the event loop's monotonic clock, like
    /// `NIODeadline.now()`): what the client sends meanwhile stays in the kernel and costs nothing.
    /// Frames already read are still delivered; writes, pings and every deadline go on (a pong that
    /// waits behind the pause is read after it). A later deadline extends the pause, an earlier or
    /// past one changes nothing. The pause ends early when the connection closes.
    public func pauseReading(until deadline: NIODeadline) {
        eventLoop.preconditionInEventLoop()
        guard state == .open, deadline > eventLoop.now else { return }
        if let pause = readPause {
            guard deadline > pause.until else { return }
            pause.resume.cancel()
        }
        let resume = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] () -> Void in
            self?.resumeReading()
        }
        readPause = (deadline, resume)
    }

    /// Whether reading is paused by `pauseReading(until:)`.
    public var isReadingPaused: Bool {
        eventLoop.preconditionInEventLoop()
        return readPause != nil
    }

    /// The client connected to a Socket.IO namespace: stops the CONNECT deadline.
    public func namespaceDidConnect() {
        eventLoop.preconditionInEventLoop()
        connectDeadline?.cancel()
        connectDeadline = nil
    }

    // MARK: Transport side (called by EngineChannelHandler)

    /// Binds the connection to its handler's context, sends the open packet, starts the heartbeat
    /// and makes the delegate.
    func open(context: ChannelHandlerContext) {
        guard state == .idle else { return }
        self.context = context
        state = .open
        let packet = ServerEventEncoder.open(
            sid: sid,
            pingIntervalMilliseconds: settings.pingInterval.nanoseconds / 1_000_000,
            pingTimeoutMilliseconds: settings.pingTimeout.nanoseconds / 1_000_000,
            maxPayload: settings.maxPayload
        )
        context.writeAndFlush(
            NIOAny(WebSocketFrameBuilder.textFrame(packet, allocator: context.channel.allocator)),
            promise: nil
        )
        logger.debug("connection opened", metadata: logMetadata(["sid": "\(sid)"]))
        schedulePing()
        let connectTimeout = settings.connectTimeout
        connectDeadline = eventLoop.assumeIsolated().scheduleTask(in: connectTimeout) { [weak self] in
            guard let self else { return }
            self.connectDeadline = nil
            self.closeTransport(.idle(.noNamespaceConnect(connectTimeout)))
        }
        let delegate = makeDelegate(self)
        self.delegate = delegate
        delegate.engineConnectionDidOpen(self)
    }

    /// The pipeline asks to read from the socket: returns whether the read may go on now. If not
    /// (paused, or closing) it is held back, and passed on when the pause ends.
    func readRequested() -> Bool {
        switch state {
        case .idle, .open:
            guard readPause != nil else { return true }
            readWithheld = true
            return false
        case .closing, .closed:
            return false  // Nothing read now would be used: the connection only waits to close.
        }
    }

    /// Whether inbound messages are still handled (the connection is open). A closing connection
    /// drops them without decoding.
    var acceptsMessages: Bool { state == .open }

    /// Handles one complete inbound text message (an Engine.IO packet).
    func receive(packet: String) {
        guard state == .open else { return }
        guard let type = packet.utf8.first else {
            closeTransport(.protocolError("invalid Engine.IO packet: empty message"))
            return
        }
        // The type is one byte: slice the UTF-8 view, never a Character (a combining mark after the
        // type would otherwise be dropped with it).
        let rest = Substring(packet.utf8.dropFirst())
        switch type {
        case UInt8(ascii: "4"):
            delegate?.engineConnection(self, didReceiveMessage: rest)
        case UInt8(ascii: "2"), UInt8(ascii: "3"), UInt8(ascii: "5"), UInt8(ascii: "6"):
            // Charged like a message (a `where` here would bind to the last pattern only).
            guard delegate?.engineConnection(self, shouldHandleControlPacket: type) ?? true else { return }
            receive(controlPacket: type, rest: rest)
        case UInt8(ascii: "1"):
            closeTransport(.clientClosed)
        default:
            let shown = type < 0x80 ? String(UnicodeScalar(type)) : "byte \(type)"
            closeTransport(.protocolError("invalid Engine.IO packet type '\(shown)': expected 1, 3, 4, 5 or 6"))
        }
    }

    /// A pong, a client's ping or a noop that its delegate let through.
    private func receive(controlPacket type: UInt8, rest: Substring) {
        switch type {
        case UInt8(ascii: "3"):
            receivedPong()
        case UInt8(ascii: "2"):
            // Clients do not ping in Engine.IO v4, but answering is harmless.
            sendText("3" + rest)
        default:
            break  // upgrade / noop: nothing to do with the WebSocket transport only.
        }
    }

    /// Sends a WebSocket control frame (pong, close echo) and flushes.
    func writeControl(_ frame: ByteBuffer) {
        guard let context, state != .closed else { return }
        context.writeAndFlush(NIOAny(frame), promise: nil)
    }

    /// Starts closing with the reason's own close code (see `CloseReason.closeCode`).
    func closeTransport(_ reason: CloseReason) {
        closeTransport(reason, code: reason.closeCode)
    }

    /// Starts closing: records `reason` (the first one wins), sends a close frame with `code` when given,
    /// and closes the channel once it is written (or after 2 s at the latest). `code == nil` closes at once.
    func closeTransport(_ reason: CloseReason, code: WebSocketErrorCode?) {
        if closeReason == nil { closeReason = reason }
        guard state == .open || state == .idle, let context else {
            if code == nil, state == .closing { self.context?.close(promise: nil) }
            return
        }
        state = .closing
        cancelHeartbeat()
        cancelReadPause()
        guard let code else {
            context.close(promise: nil)
            return
        }
        let frame = WebSocketFrameBuilder.closeFrame(
            code: code,
            reason: reason.description,
            allocator: context.channel.allocator
        )
        context.writeAndFlush(NIOAny(frame)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
        closeFallback = context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(2)) {
            context.close(promise: nil)
        }
    }

    /// The channel is gone: stops the timers and tells the delegate once.
    func transportDidClose(fallbackReason: CloseReason) {
        guard state != .closed else { return }
        let wasOpen = state != .idle
        state = .closed
        cancelHeartbeat()
        cancelReadPause()
        closeFallback?.cancel()
        closeFallback = nil
        context = nil
        let reason = closeReason ?? fallbackReason
        closeReason = reason
        guard wasOpen else { return }
        logger.debug("connection closed", metadata: logMetadata(["sid": "\(sid)", "reason": "\(reason)"]))
        let delegate = self.delegate
        self.delegate = nil
        delegate?.engineConnectionDidClose(self, reason: reason)
    }

    /// `extra` and the connection's own log metadata (built only for lines that are printed).
    private func logMetadata(_ extra: Logger.Metadata) -> Logger.Metadata {
        extra.merging(["conn": "\(id)", "peer": "\(remoteAddress)", "client": "\(clientAddress)"]) { line, _ in
            line
        }
    }

    // MARK: Read pause

    private func resumeReading() {
        readPause = nil
        guard readWithheld, state == .open, let context else { return }
        readWithheld = false
        context.read()
    }

    private func cancelReadPause() {
        readPause?.resume.cancel()
        readPause = nil
        readWithheld = false
    }

    // MARK: Heartbeat

    private func sendText(_ text: String) {
        guard state == .open, let context else { return }
        context.writeAndFlush(
            NIOAny(WebSocketFrameBuilder.textFrame(text, allocator: context.channel.allocator)),
            promise: nil
        )
    }

    private func schedulePing() {
        pingTask = eventLoop.assumeIsolated().scheduleTask(in: settings.pingInterval) { [weak self] in
            self?.sendPing()
        }
    }

    private func sendPing() {
        guard state == .open else { return }
        sendText("2")
        pongDeadline = eventLoop.assumeIsolated().scheduleTask(in: settings.pingTimeout) { [weak self] in
            guard let self else { return }
            self.pongDeadline = nil
            self.closeTransport(.pingTimeout)
        }
    }

    private func receivedPong() {
        // A pong without an outstanding ping is ignored; a ping is only ever sent after the last pong.
        guard let deadline = pongDeadline else { return }
        deadline.cancel()
        pongDeadline = nil
        schedulePing()
    }

    private func cancelHeartbeat() {
        connectDeadline?.cancel()
        connectDeadline = nil
        pingTask?.cancel()
        pingTask = nil
        pongDeadline?.cancel()
        pongDeadline = nil
    }

    // MARK: Session id

    private static let sessionIDAlphabet = Array(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8
    )

    /// 20 characters from the 64-character URL-safe alphabet, each from 6 random bits.
    static func makeSessionID() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8]()
        bytes.reserveCapacity(20)
        while bytes.count < 20 {
            var word = generator.next() as UInt64
            for _ in 0..<10 where bytes.count < 20 {
                bytes.append(sessionIDAlphabet[Int(word & 63)])
                word >>= 6
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
