import ChatLoad
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import SocketIO

/// One benchmark WebSocket client: its own HTTP upgrade, WebSocket framing, Engine.IO pongs,
/// Socket.IO emits with acks, and per-room `seq` checks on what it receives.
///
/// Confined to its channel's event loop: call its methods there only (``connect`` and the
/// `…OnLoop` helpers hop for you).
final class BenchClient: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State {
        case upgrading
        case open
        case closed
    }

    /// The client's index among all clients.
    let index: Int
    /// The loop the client lives on.
    let eventLoop: any EventLoop
    private let stats: LoopStats
    private let host: String
    private let port: Int
    private let mask: (UInt8, UInt8, UInt8, UInt8)
    private var state = State.upgrading
    private var context: ChannelHandlerContext?
    private var reader = WebSocketReader()
    private let ready: EventLoopPromise<Void>
    private var pending: [UInt64: EventLoopPromise<String>] = [:]
    private var nextAckID: UInt64 = 1
    private var roomJSON = ""
    private var lastSeq: UInt64 = 0
    private var joined = false
    /// `seq`s of room events that arrived before the join ack, checked once the ack is in.
    private var early: [UInt64] = []
    /// True once the benchmark closes the client on purpose (no disconnect is counted then).
    private var stopping = false
    /// Written but not yet flushed.
    private var unflushed = false

    private init(index: Int, eventLoop: any EventLoop, stats: LoopStats, host: String, port: Int) {
        self.index = index
        self.eventLoop = eventLoop
        self.stats = stats
        self.host = host
        self.port = port
        self.mask = (.random(in: 1...255), .random(in: 0...255), .random(in: 0...255), .random(in: 0...255))
        self.ready = eventLoop.makePromise()
    }

    /// Opens a client on `stats.eventLoop` and returns once its Socket.IO namespace is connected.
    /// With `source`, the connection is made from that local address; with `tls`, over TLS (wss://).
    static func connect(
        index: Int,
        host: String,
        port: Int,
        source: SocketAddress?,
        tls: NIOSSLContext? = nil,
        stats: LoopStats,
        timeout: TimeAmount
    ) async throws -> BenchClient {
        let client = BenchClient(index: index, eventLoop: stats.eventLoop, stats: stats, host: host, port: port)
        let channel = try await LoadConnection.open(
            on: stats.eventLoop,
            host: host,
            port: port,
            source: source,
            timeout: timeout
        ) { channel in
            if let tls {
                try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: nil))
            }
            try channel.pipeline.syncOperations.addHandler(client)
        }
        let timer = channel.eventLoop.scheduleTask(in: timeout) {
            client.ready.fail(
                BenchError.timeout(
                    "client \(index): no Socket.IO connect within \(timeout.nanoseconds / 1_000_000_000) s"
                )
            )
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        try await client.ready.futureResult.get()
        return client
    }

    // MARK: Commands (hop to the loop)

    /// Emits `event` with the JSON object `argument` and returns the ack's JSON array text.
    func emitOnLoop(_ event: String, _ argument: String) async throws -> String {
        try await eventLoop.flatSubmit { self.emit(event, argument) }.get()
    }

    /// Joins `room` and starts `seq` checks from the ack's `seq`, on the loop, before any later
    /// event is read. Returns that `seq`.
    func joinOnLoop(room: String, password: String, name: String) async throws -> UInt64 {
        let argument =
            "{\"room\":\(Self.jsonString(room)),\"password\":\(Self.jsonString(password)),\"name\":\(Self.jsonString(name))}"
        return try await eventLoop.flatSubmit {
            self.emit("join", argument).flatMapThrowing { json in
                let ack = try? JSONValue.parse(json, limits: .trusted)
                guard let seq = ack?[0]?["seq"]?.int64Value, seq >= 0 else {
                    throw BenchError.protocolError("join \(room) refused: \(json)")
                }
                self.roomJSON = Self.jsonString(room)
                self.lastSeq = UInt64(seq)
                self.joined = true
                for earlySeq in self.early { self.check(seq: earlySeq) }
                self.early = []
                return UInt64(seq)
            }
        }.get()
    }

    /// Sends a WebSocket close and closes the connection.
    func closeOnLoop() async {
        let future: EventLoopFuture<Void> = eventLoop.flatSubmit {
            self.stopping = true
            guard let context = self.context, self.state == .open else {
                return self.eventLoop.makeSucceededVoidFuture()
            }
            var buffer = context.channel.allocator.buffer(capacity: 8)
            WebSocketFrame.writeNormalClose(mask: self.mask, into: &buffer)
            context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
            self.state = .closed
            return context.close()
        }
        try? await future.get()
    }

    // MARK: Sending (on the loop)

    /// Writes one `message` event carrying `sentNanos` and `padding` (not flushed: see ``flushIfNeeded()``).
    func writeMessage(sentNanos: UInt64, padding: String) {
        guard state == .open, joined else { return }
        let id = nextAckID
        nextAckID += 1
        let text = "42\(id)[\"message\",{\"room\":\(roomJSON),\"text\":\"\(sentNanos) \(padding)\"}]"
        writeText(text, flush: false)
        stats.counters.sent += 1
    }

    /// Flushes what ``writeMessage(sentNanos:padding:)`` wrote.
    func flushIfNeeded() {
        guard unflushed, let context else { return }
        unflushed = false
        context.flush()
    }

    private func emit(_ event: String, _ argument: String) -> EventLoopFuture<String> {
        guard state == .open else {
            return eventLoop.makeFailedFuture(BenchError.protocolError("client \(index) is not open"))
        }
        let id = nextAckID
        nextAckID += 1
        let promise = eventLoop.makePromise(of: String.self)
        pending[id] = promise
        writeText("42\(id)[\"\(event)\",\(argument)]", flush: true)
        return promise.futureResult
    }

    private func writeText(_ text: String, flush: Bool) {
        guard let context else { return }
        var buffer = context.channel.allocator.buffer(capacity: text.utf8.count + 14)
        WebSocketFrame.write(opcode: .text, payload: text.utf8, mask: mask, into: &buffer)
        if flush {
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        } else {
            context.write(wrapOutboundOut(buffer), promise: nil)
            unflushed = true
        }
    }

    // MARK: ChannelInboundHandler

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelActive(context: ChannelHandlerContext) {
        let request = WebSocketUpgrade.request(host: host, port: port)
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: request)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        reader.read(unwrapInboundIn(data)) { handle($0, context: context) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushIfNeeded()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !stopping {
            stats.counters.disconnects += 1
        }
        state = .closed
        let error = BenchError.protocolError("client \(index): connection closed")
        ready.fail(error)
        for (_, promise) in pending { promise.fail(error) }
        pending.removeAll()
        self.context = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        ready.fail(error)
        context.close(promise: nil)
    }

    // MARK: Reading

    private func handle(_ event: WebSocketReader.Event, context: ChannelHandlerContext) {
        switch event {
        case .upgraded:
            state = .open
        case .refused(let status):
            ready.fail(BenchError.protocolError("upgrade refused: \(status)"))
            state = .closed
            context.close(promise: nil)
        case .text(let payload):
            handle(payload.withUnsafeReadableBytes { EnginePacket.parse($0) })
        case .ping(let payload):
            var buffer = context.channel.allocator.buffer(capacity: payload.readableBytes + 6)
            WebSocketFrame.write(opcode: .pong, payload: payload.readableBytesView, mask: mask, into: &buffer)
            context.write(wrapOutboundOut(buffer), promise: nil)
            unflushed = true
        case .close(_, let reason):
            if !stopping, stats.counters.firstCloseReason == nil {
                stats.counters.firstCloseReason = "client \(index): \(reason)"
            }
            state = .closed
            context.close(promise: nil)
        }
    }

    private func handle(_ packet: EnginePacket) {
        switch packet {
        case .message(let seq, let sentNanos):
            let now = NIODeadline.now().uptimeNanoseconds
            let counters = stats
            counters.counters.delivered += 1
            counters.counters.lastDeliveryNanos = now
            counters.counters.latency.record(now > sentNanos ? (now - sentNanos) / 1000 : 0)
            check(seq: seq)
        case .membership(let seq):
            stats.counters.membershipEvents += 1
            check(seq: seq)
        case .ack(let id, let json):
            if let promise = pending.removeValue(forKey: id) {
                promise.succeed(json)
            } else if json.hasPrefix(#"[{"seq""#) {
                stats.counters.acked += 1
            } else {
                stats.counters.ackErrors += 1
                if stats.counters.firstAckError == nil { stats.counters.firstAckError = json }
            }
        case .ping:
            writeText("3", flush: false)
        case .open:
            writeText("40", flush: false)
        case .connected:
            ready.succeed()
        case .connectError(let reason):
            ready.fail(BenchError.protocolError("namespace connect refused: \(reason)"))
        case .other:
            break
        }
    }

    private func check(seq: UInt64) {
        guard joined else {
            stats.counters.eventsBeforeJoin += 1
            early.append(seq)
            return
        }
        if seq <= lastSeq {
            stats.counters.outOfOrder += 1
            noteSeqProblem("seq \(seq) after \(lastSeq)")
            return
        }
        if seq > lastSeq + 1 {
            stats.counters.gaps += Int(seq - lastSeq - 1)
            noteSeqProblem("seq \(seq) after \(lastSeq) (\(seq - lastSeq - 1) missing)")
        }
        lastSeq = seq
    }

    private func noteSeqProblem(_ text: String) {
        if stats.counters.firstSeqProblem == nil {
            stats.counters.firstSeqProblem = "client \(index): \(text)"
        }
    }

    /// `value` as a JSON string literal (benchmark room names need no escapes beyond these).
    static func jsonString(_ value: String) -> String {
        "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
