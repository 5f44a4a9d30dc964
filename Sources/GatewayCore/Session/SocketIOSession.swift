import ChatLogging
import ChatWire
import Foundation
import Logging
import NIOCore
import NIOWebSocket
import SocketIO

/// One client's Socket.IO session on top of its Engine.IO connection: namespace connect, events,
/// acks and room memberships. Confined to the connection's event loop.
final class SocketIOSession: EngineConnectionDelegate, @unchecked Sendable {
    /// Most commands one connection may have waiting for the broker.
    static let maxInFlight = 64
    /// Rooms in one `rooms` page when the client gives no `limit`, and the most it may ask for
    /// (the same as `GET /api/rooms`).
    static let defaultRoomsPerPage = 100
    static let maxRoomsPerPage = 200
    /// Most rooms one connection may be in at once.
    static let maxRooms = 32
    /// Socket.IO frames one connection may send per second on average (the token bucket's refill)…
    static let framesPerSecond = 20
    /// …and at once (the bucket's size).
    static let frameBurst = 40
    /// Frames refused by the rate limit within `refusalWindow` after which the connection is closed.
    static let maxRefused = 200
    /// The window over which refused frames are counted.
    static let refusalWindow = TimeAmount.seconds(10)
    /// Malformed or unknown packets or events within `offenceWindow` after which the connection is closed.
    static let maxOffences = 10
    /// The window over which offences are counted.
    static let offenceWindow = TimeAmount.seconds(60)

    let connection: EngineConnection
    let link: any BrokerClient
    let rooms: LoopRooms
    let logger: Logger
    let metrics: GatewayMetrics
    /// The client's IP address, for the broker's per-address password limit.
    let client: String
    var namespaceConnected = false
    var memberships: [String: RoomMembership] = [:]
    var inFlight = 0
    /// The monotonic clock of the rate limit and the offence window (injected by tests).
    private let now: () -> NIODeadline
    private var limiter: TokenBucket
    private var refusals: OffenceWindow
    private var offences: OffenceWindow
    var everJoined = false
    var closed = false
    /// Connection-state recovery is on: CONNECT answers a pid and may resume a session.
    private let recovery: Bool
    /// With recovery: the session's private id once the namespace is connected (fresh or resumed).
    var pid: String?
    /// With recovery: a `resume` is in flight (the namespace connects when it is answered).
    var resuming = false

    init(
        connection: EngineConnection,
        link: any BrokerClient,
        rooms: LoopRooms,
        metrics: GatewayMetrics,
        logger: Logger,
        recovery: Bool = false,
        now: @escaping () -> NIODeadline = NIODeadline.now
    ) {
        self.metrics = metrics
        self.recovery = recovery
        self.connection = connection
        self.link = link
        self.rooms = rooms
        // The shared logger, not a copy with a `conn` metadata value (~250 bytes per connection):
        // ``logMetadata(_:)`` adds it to each line printed.
        self.logger = logger
        self.client = connection.clientAddress.rateLimitKey
        self.now = now
        self.limiter = TokenBucket(perSecond: Double(Self.framesPerSecond), burst: Self.frameBurst, now: now())
        self.refusals = OffenceWindow(limit: Self.maxRefused, window: Self.refusalWindow)
        self.offences = OffenceWindow(limit: Self.maxOffences, window: Self.offenceWindow)
    }

    // MARK: EngineConnectionDelegate

    func engineConnectionDidOpen(_ connection: EngineConnection) {
        metrics.connections.increment()
        metrics.openConnections.increment()
        // `peer` is the TCP peer (a proxy's address behind one), `client` whom the limits count.
        logger.info(
            "connect",
            metadata: logMetadata(["peer": "\(connection.remoteAddress)", "client": "\(connection.clientAddress)"])
        )
    }

    func engineConnection(_ connection: EngineConnection, didReceiveMessage payload: Substring) {
        guard !closed else { return }
        // Charge the frame before any work it causes: a frame over the limit is not even parsed.
        let now = now()
        guard limiter.allow(now: now) else {
            refuseOverLimit(payload, at: now)
            return
        }
        let packet: SocketIOPacket
        do {
            packet = try SocketIOPacket.parse(payload)
        } catch {
            logClientTriggered("bad-packet", ["reason": "\(error.code)"])
            if let ackID = Self.leadingAckID(of: payload) {
                ackError(ackID, ChatError(.badRequest, error.description))
                offend()
            } else {
                close(.invalidPacket(error))
            }
            return
        }
        switch packet.type {
        case .connect:
            guard packet.namespace == "/" else {
                sendRaw(ServerEventEncoder.connectError(namespace: packet.namespace, message: "Invalid namespace"))
                offend()
                return
            }
            guard recovery else {
                namespaceConnected = true
                connection.namespaceDidConnect()
                sendRaw(ServerEventEncoder.connectAck(sid: connection.sid))
                return
            }
            guard !namespaceConnected, !resuming else {
                offend()  // One connect per connection with recovery: its pid is settled.
                return
            }
            connection.namespaceDidConnect()
            connectRecovering(auth: packet.data)
        case .disconnect:
            namespaceConnected = false
            leaveEverything()
        case .event:
            guard packet.namespace == "/", namespaceConnected else {
                close(.eventBeforeConnect)
                return
            }
            handleEvent(packet)
        case .ack:
            offend()  // The server never asks clients for acks.
        case .connectError, .binaryEvent, .binaryAck:
            close(.unexpectedPacketType(packet.type))
        }
    }

    /// An Engine.IO control packet (pong, ping, noop) costs a token like a message; over the limit it
    /// is dropped and counted as refused.
    func engineConnection(_ connection: EngineConnection, shouldHandleControlPacket type: UInt8) -> Bool {
        guard !closed else { return false }
        let now = now()
        guard limiter.allow(now: now) else {
            refuseOverLimit(nil, at: now)
            return false
        }
        return true
    }

    /// A frame over the rate limit: answered with `rate_limited` if its ack id can be read from its
    /// first bytes, else dropped; too many within the refusal window close the connection. Reading
    /// pauses until the bucket holds a token again: the client's next frames wait in the kernel.
    private func refuseOverLimit(_ payload: Substring?, at now: NIODeadline) {
        guard !refusals.record(at: now) else {
            close(.flooding(refused: Self.maxRefused, seconds: Self.refusalWindow.nanoseconds / 1_000_000_000))
            return
        }
        connection.pauseReading(until: limiter.nextToken)
        ackError(
            payload.flatMap { Self.leadingAckID(of: $0) },
            ChatError(.rateLimited, "too many packets; slow down (at most \(Self.framesPerSecond) per second)")
        )
    }

    /// Counts a malformed or unknown packet or event; too many within the window close the connection.
    private func offend() {
        guard offences.record(at: now()) else { return }
        close(.misbehaving(count: Self.maxOffences, seconds: Self.offenceWindow.nanoseconds / 1_000_000_000))
    }

    func engineConnectionDidClose(_ connection: EngineConnection, reason: CloseReason) {
        closed = true
        metrics.closed(reason: reason)
        logger.info(
            "disconnect",
            metadata: logMetadata(["peer": "\(connection.remoteAddress)", "reason": "\(reason)"])
        )
        leaveEverything()
    }

    /// Closes the connection with `reason` (shown to the client in the close frame).
    func close(reason: String, code: WebSocketErrorCode = .normalClosure) {
        guard !closed else { return }
        connection.close(reason: reason, code: code)
    }

    /// `extra` and the connection's `conn` (built only for lines that are printed).
    func logMetadata(_ extra: Logger.Metadata) -> Logger.Metadata {
        extra.merging(["conn": "\(connection.id)"]) { line, _ in line }
    }

    /// Lines a client can trigger at will, at most 10 per client address and kind every 10 s in this
    /// process; the next one admitted says how many were left out.
    static let clientLines = LogThrottle<String>(limit: 10, per: .seconds(10))

    private func logClientTriggered(_ event: String, _ metadata: Logger.Metadata) {
        let verdict = Self.clientLines.check("\(client) \(event)")
        guard verdict.admitted else { return }
        logger.notice("\(event)", metadata: logMetadata(metadata.merging(verdict.metadata) { $1 }))
    }

    /// Closes the connection for one of the session's own reasons, with its close code.
    private func close(_ reason: SessionCloseReason) {
        guard !closed else { return }
        logClientTriggered("closing", ["reason": "\(reason)"])
        close(reason: reason.description, code: reason.closeCode)
    }

    // MARK: Events

    /// Decodes an event's shape, charges it to the in-flight limit and hands it to ``handle(_:ackID:)``;
    /// a refusal is acked with its error.
    private func handleEvent(_ packet: SocketIOPacket) {
        let ackID = packet.ackID
        let event: ClientEvent
        do {
            event = try ClientEvent.decode(eventName: packet.eventName ?? "", arguments: packet.arguments)
        } catch {
            logClientTriggered("bad-event", ["reason": "\(error.code)"])
            switch error {
            case .unknownEvent: ackError(ackID, ChatError(.unknownEvent, error.description))
            case .badRequest: ackError(ackID, ChatError(.badRequest, error.description))
            }
            offend()
            return
        }
        guard inFlight < Self.maxInFlight else {
            ackError(ackID, ChatError(.rateLimited, "too many commands waiting for an answer; wait for their acks"))
            return
        }
        do throws(ChatError) {
            try handle(event, ackID: ackID)
        } catch {
            ackError(ackID, error)
        }
    }

    // MARK: Writing

    func ack(_ ackID: UInt64?, _ json: [UInt8]) {
        guard let ackID, !closed else { return }
        sendRaw(ServerEventEncoder.ack(id: ackID, objectJSON: json))
    }

    func ackError(_ ackID: UInt64?, _ error: ChatError) {
        metrics.refused(error.code)
        guard let ackID else {
            logger.debug("refused", metadata: logMetadata(["reason": "\(error.code.code)"]))
            return
        }
        ack(ackID, ServerEventEncoder.errorObject(code: error.code.code, message: error.message))
    }

    /// Writes one Engine.IO text (already carrying its leading `4`) and flushes.
    func sendRaw(_ bytes: [UInt8]) {
        guard !closed else { return }
        connection.write(frame: WebSocketFrameBuilder.textFrame(bytes))
        connection.flush()
    }

    /// The optional idempotency key of `create` and `message`: 1–64 bytes (``FieldValidator/key(_:)``).
    static func idempotencyKey(_ raw: String?) throws(ChatError) -> String? {
        guard let raw else { return nil }
        guard !raw.isEmpty else { throw ChatError(.badRequest, "id must not be empty") }
        return try FieldValidator.key(raw)
    }

    /// The ack id of an event packet read from its first bytes only (`2<digits>…`), to answer a
    /// frame that is refused or failed to parse.
    static func leadingAckID(of payload: Substring) -> UInt64? {
        var utf8 = payload.utf8[...]
        guard utf8.first == UInt8(ascii: "2") else { return nil }
        utf8 = utf8.dropFirst()
        let digits = utf8.prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        guard !digits.isEmpty, digits.count <= 19 else { return nil }
        return UInt64(String(decoding: digits, as: UTF8.self))
    }
}
