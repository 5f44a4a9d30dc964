import Logging
import NIOCore
import NIOWebSocket

/// One Engine.IO v4 connection over one WebSocket.
///
/// It lives on its channel's event loop: `id`, `sid`, `remoteAddress` and `eventLoop` may be read
/// anywhere, every other member must be used on `eventLoop` only (checked with a precondition).
/// To reach it from another thread, hop first: `connection.eventLoop.execute { connection.send(...) }`.
///
/// Fan-out: build a frame once with `WebSocketFrameBuilder.engineMessageFrame(_:)`, then per
/// connection call `write(frame:)`, and `flush()` once per connection after the batch.
public final class EngineConnection: @unchecked Sendable {
    /// Process-unique, increasing id of the underlying TCP connection.
    public let id: UInt64
    /// The Engine.IO session id sent in the open packet (20 URL-safe random characters).
    public let sid: String
    /// The peer as `ip:port` (`[ip]:port` for IPv6), or `"unknown"`.
    public let remoteAddress: String
    /// The event loop of the connection's channel; use the connection only there.
    public let eventLoop: any EventLoop

    /// Timing and size values announced in the open packet.
    struct Settings {
        var pingInterval: TimeAmount
        var pingTimeout: TimeAmount
        var maxPayload: Int
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
    private var closeReason: String?
    private var pingTask: Scheduled<Void>?
    private var pongDeadline: Scheduled<Void>?
    private var closeFallback: Scheduled<Void>?

    init(
        id: UInt64,
        remoteAddress: String,
        eventLoop: any EventLoop,
        settings: Settings,
        logger: Logger,
        makeDelegate: @escaping @Sendable (EngineConnection) -> any EngineConnectionDelegate
    ) {
        self.id = id
        self.sid = Self.makeSessionID()
        self.remoteAddress = remoteAddress
        self.eventLoop = eventLoop
        self.settings = settings
        var logger = logger
        logger[metadataKey: "connection"] = "\(id)"
        logger[metadataKey: "remote"] = "\(remoteAddress)"
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
        context.writeAndFlush(NIOAny(WebSocketFrameBuilder.engineMessageFrame(message, allocator: context.channel.allocator)), promise: nil)
    }

    /// Queues a complete frame built by `WebSocketFrameBuilder` (normally
    /// `engineMessageFrame(_:)`) without flushing; call `flush()` after a batch.
    /// Does nothing once the connection is closing.
    public func write(frame: ByteBuffer) {
        eventLoop.preconditionInEventLoop()
        guard state == .open, let context else { return }
        context.write(NIOAny(frame), promise: nil)
    }

    /// Flushes frames queued with `write(frame:)`.
    public func flush() {
        eventLoop.preconditionInEventLoop()
        context?.flush()
    }

    /// Closes the connection: sends a WebSocket close frame with `code` (default 1000) carrying
    /// `reason`, then closes the TCP connection. The delegate's `engineConnectionDidClose` follows
    /// with the same reason.
    public func close(reason: String, code: WebSocketErrorCode = .normalClosure) {
        eventLoop.preconditionInEventLoop()
        closeTransport(code: code, reason: reason)
    }

    // MARK: Transport side (called by EngineChannelHandler)

    /// Binds the connection to its handler's context, sends the open packet, starts the heartbeat
    /// and makes the delegate.
    func open(context: ChannelHandlerContext) {
        guard state == .idle else { return }
        self.context = context
        state = .open
        let packet = "0{\"sid\":\"\(sid)\",\"upgrades\":[],\"pingInterval\":\(settings.pingInterval.nanoseconds / 1_000_000),"
            + "\"pingTimeout\":\(settings.pingTimeout.nanoseconds / 1_000_000),\"maxPayload\":\(settings.maxPayload)}"
        context.writeAndFlush(NIOAny(WebSocketFrameBuilder.textFrame(packet, allocator: context.channel.allocator)), promise: nil)
        logger.debug("connection opened", metadata: ["sid": "\(sid)"])
        schedulePing()
        let delegate = makeDelegate(self)
        self.delegate = delegate
        delegate.engineConnectionDidOpen(self)
    }

    /// Handles one complete inbound text message (an Engine.IO packet).
    func receive(packet: String) {
        guard state == .open else { return }
        guard let type = packet.utf8.first else {
            closeTransport(code: .protocolError, reason: "invalid Engine.IO packet: empty message")
            return
        }
        switch type {
        case UInt8(ascii: "4"):
            delegate?.engineConnection(self, didReceiveMessage: packet.dropFirst())
        case UInt8(ascii: "3"):
            receivedPong()
        case UInt8(ascii: "2"):
            // Clients do not ping in Engine.IO v4, but answering is harmless.
            sendText("3" + packet.dropFirst())
        case UInt8(ascii: "1"):
            closeTransport(code: .normalClosure, reason: "client closed the connection")
        case UInt8(ascii: "5"), UInt8(ascii: "6"):
            break  // upgrade / noop: nothing to do with the WebSocket transport only.
        default:
            closeTransport(
                code: .protocolError,
                reason: "invalid Engine.IO packet type '\(packet.prefix(1))': expected 1, 3, 4, 5 or 6"
            )
        }
    }

    /// Sends a WebSocket control frame (pong, close echo) and flushes.
    func writeControl(_ frame: ByteBuffer) {
        guard let context, state != .closed else { return }
        context.writeAndFlush(NIOAny(frame), promise: nil)
    }

    /// Starts closing: records `reason` (the first one wins), sends a close frame with `code` when given,
    /// and closes the channel once it is written (or after 2 s at the latest). `code == nil` closes at once.
    func closeTransport(code: WebSocketErrorCode?, reason: String) {
        if closeReason == nil { closeReason = reason }
        guard state == .open || state == .idle, let context else {
            if code == nil, state == .closing { self.context?.close(promise: nil) }
            return
        }
        state = .closing
        cancelHeartbeat()
        guard let code else {
            context.close(promise: nil)
            return
        }
        let frame = WebSocketFrameBuilder.closeFrame(code: code, reason: reason, allocator: context.channel.allocator)
        context.writeAndFlush(NIOAny(frame)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
        closeFallback = context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(2)) {
            context.close(promise: nil)
        }
    }

    /// The channel is gone: stops the timers and tells the delegate once.
    func transportDidClose(fallbackReason: String) {
        guard state != .closed else { return }
        let wasOpen = state != .idle
        state = .closed
        cancelHeartbeat()
        closeFallback?.cancel()
        closeFallback = nil
        context = nil
        let reason = closeReason ?? fallbackReason
        closeReason = reason
        guard wasOpen else { return }
        logger.debug("connection closed", metadata: ["sid": "\(sid)", "reason": "\(reason)"])
        let delegate = self.delegate
        self.delegate = nil
        delegate?.engineConnectionDidClose(self, reason: reason)
    }

    // MARK: Heartbeat

    private func sendText(_ text: String) {
        guard state == .open, let context else { return }
        context.writeAndFlush(NIOAny(WebSocketFrameBuilder.textFrame(text, allocator: context.channel.allocator)), promise: nil)
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
            self.closeTransport(code: .policyViolation, reason: "ping timeout")
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
        pingTask?.cancel()
        pingTask = nil
        pongDeadline?.cancel()
        pongDeadline = nil
    }

    // MARK: Session id

    private static let sessionIDAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

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
