import ChatLoad
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SocketIO

/// One attacking WebSocket connection: its own upgrade and framing, Engine.IO pongs to the server's
/// pings, Socket.IO requests with acks, raw packets, and a count of what it receives. Room events are
/// read and dropped. When the server closes it, the close code is counted for its attack.
///
/// Confined to its channel's event loop; the async methods hop there.
final class AttackClient: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State {
        case upgrading
        case open
        case closed
    }

    /// The attack the connection belongs to (its close is counted there).
    let kind: AttackKind
    /// The loop the client lives on.
    let eventLoop: any EventLoop
    private let tally: AttackTally
    private let host: String
    private let port: Int
    private let mask = (
        UInt8.random(in: 1...255), UInt8.random(in: 0...255), UInt8.random(in: 0...255), UInt8.random(in: 0...255)
    )
    private let ready: EventLoopPromise<Void>
    private let openFlag = NIOLockedValueBox(false)
    private var state = State.upgrading
    private var context: ChannelHandlerContext?
    private var reader = WebSocketReader()
    private var pending: [UInt64: EventLoopPromise<String>] = [:]
    private var nextAckID: UInt64 = 1
    private var closeCode: UInt16?
    /// Connected once (a later end is counted as the connection's outcome).
    private var wasReady = false
    /// True once the attacker closes the connection itself (its end is not counted then).
    private var stopping = false

    private init(kind: AttackKind, eventLoop: any EventLoop, tally: AttackTally, host: String, port: Int) {
        self.kind = kind
        self.eventLoop = eventLoop
        self.tally = tally
        self.host = host
        self.port = port
        self.ready = eventLoop.makePromise()
    }

    /// True while the Socket.IO connection is open.
    var isOpen: Bool { openFlag.withLockedValue { $0 } }

    /// Opens a connection from `source` and returns once its Socket.IO namespace is connected.
    /// Throws an ``AttackFailure`` with the reason when it is not.
    static func connect(
        kind: AttackKind,
        host: String,
        port: Int,
        source: SocketAddress?,
        eventLoop: any EventLoop,
        tally: AttackTally,
        timeout: TimeAmount
    ) async throws -> AttackClient {
        let client = AttackClient(kind: kind, eventLoop: eventLoop, tally: tally, host: host, port: port)
        let channel: any Channel
        do {
            channel = try await LoadConnection.open(
                on: eventLoop,
                host: host,
                port: port,
                source: source,
                timeout: timeout
            ) { channel in try channel.pipeline.syncOperations.addHandler(client) }
        } catch {
            throw AttackFailure(outcome: .connectFailed)
        }
        let timer = channel.eventLoop.scheduleTask(in: timeout) {
            client.ready.fail(AttackFailure(outcome: .timedOut))
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        do {
            try await client.ready.futureResult.get()
        } catch let failure as AttackFailure {
            throw failure
        } catch {
            throw AttackFailure(outcome: .connectionLost)
        }
        return client
    }

    // MARK: Requests and packets (hop to the loop)

    /// Emits `event` with the JSON `argument` and returns what its ack says (or why none came).
    func request(_ event: String, _ argument: String, timeout: TimeAmount) async -> AttackOutcome {
        await requestRaw(timeout: timeout) { id in "42\(id)[\"\(event)\",\(argument)]" }
    }

    /// Emits `event` with the JSON `argument` and returns its ack, parsed; `nil` when none came.
    func requestJSON(_ event: String, _ argument: String, timeout: TimeAmount) async -> JSONValue? {
        let ack = await exchange(timeout: timeout) { id in "42\(id)[\"\(event)\",\(argument)]" }
        guard case .success(let json) = ack else { return nil }
        return try? JSONValue.parse(json, limits: .trusted)
    }

    /// Writes the packet `text(ackID)` and returns what the ack of that id says (or why none came).
    func requestRaw(timeout: TimeAmount, _ text: @escaping @Sendable (UInt64) -> String) async -> AttackOutcome {
        switch await exchange(timeout: timeout, text) {
        case .success(let json): AttackOutcome(ack: json)
        case .failure(let failure): failure.outcome
        }
    }

    /// Writes the packet `text(ackID)` and returns the ack's JSON array text, or why none came.
    private func exchange(
        timeout: TimeAmount,
        _ text: @escaping @Sendable (UInt64) -> String
    ) async -> Result<String, AttackFailure> {
        let future: EventLoopFuture<String> = eventLoop.flatSubmit {
            guard self.state == .open, let context = self.context else {
                return self.eventLoop.makeFailedFuture(AttackFailure(outcome: self.endOutcome))
            }
            guard context.channel.isWritable else {
                return self.eventLoop.makeFailedFuture(AttackFailure(outcome: .heldBack))
            }
            let id = self.nextAckID
            self.nextAckID += 1
            let promise = self.eventLoop.makePromise(of: String.self)
            self.pending[id] = promise
            self.write(text(id))
            self.eventLoop.scheduleTask(in: timeout) {
                self.pending.removeValue(forKey: id)?.fail(AttackFailure(outcome: .timedOut))
            }
            return promise.futureResult
        }
        do {
            return .success(try await future.get())
        } catch let failure as AttackFailure {
            return .failure(failure)
        } catch {
            return .failure(AttackFailure(outcome: .connectionLost))
        }
    }

    /// Writes the packet `text`, for which no answer comes: ``AttackOutcome/sent``, or why it was not written.
    func send(_ text: String) async -> AttackOutcome {
        let future: EventLoopFuture<AttackOutcome> = eventLoop.submit {
            guard self.state == .open, let context = self.context else { return self.endOutcome }
            guard context.channel.isWritable else { return .heldBack }
            self.write(text)
            return .sent
        }
        return (try? await future.get()) ?? .connectionLost
    }

    /// Closes the connection: first a Socket.IO namespace disconnect (`41`) when `namespaceFirst`, then a
    /// WebSocket close. Its end is not counted.
    func close(namespaceFirst: Bool) async {
        let future: EventLoopFuture<Void> = eventLoop.flatSubmit {
            self.stopping = true
            guard let context = self.context, self.state == .open else {
                return self.eventLoop.makeSucceededVoidFuture()
            }
            if namespaceFirst { self.write("41") }
            var buffer = context.channel.allocator.buffer(capacity: 8)
            WebSocketFrame.writeNormalClose(mask: self.mask, into: &buffer)
            context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
            self.state = .closed
            self.openFlag.withLockedValue { $0 = false }
            return context.close()
        }
        try? await future.get()
    }

    /// Why a closed connection ended.
    private var endOutcome: AttackOutcome {
        closeCode.map { .closedByServer(code: $0) } ?? .connectionLost
    }

    private func write(_ text: String) {
        guard let context else { return }
        var buffer = context.channel.allocator.buffer(capacity: text.utf8.count + 14)
        WebSocketFrame.write(opcode: .text, payload: text.utf8, mask: mask, into: &buffer)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
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
        let incoming = unwrapInboundIn(data)
        tally.received(incoming.readableBytes, for: kind)
        reader.read(incoming) { handle($0, context: context) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let outcome = endOutcome
        if wasReady, !stopping { tally.record(outcome, for: kind) }
        state = .closed
        openFlag.withLockedValue { $0 = false }
        ready.fail(AttackFailure(outcome: outcome))
        for (_, promise) in pending { promise.fail(AttackFailure(outcome: outcome)) }
        pending.removeAll()
        self.context = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    // MARK: Reading

    private func handle(_ event: WebSocketReader.Event, context: ChannelHandlerContext) {
        switch event {
        case .upgraded:
            state = .open
        case .refused(let status):
            ready.fail(AttackFailure(outcome: .upgradeRefused(status: WebSocketUpgrade.statusCode(of: status))))
            state = .closed
            context.close(promise: nil)
        case .text(let payload):
            handle(payload.withUnsafeReadableBytes { EnginePacket.parse($0) })
        case .ping(let payload):
            var buffer = context.channel.allocator.buffer(capacity: payload.readableBytes + 6)
            WebSocketFrame.write(opcode: .pong, payload: payload.readableBytesView, mask: mask, into: &buffer)
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        case .close(let code, _):
            closeCode = code ?? 1005
            state = .closed
            openFlag.withLockedValue { $0 = false }
            context.close(promise: nil)
        }
    }

    private func handle(_ packet: EnginePacket) {
        switch packet {
        case .ack(let id, let json):
            pending.removeValue(forKey: id)?.succeed(json)
        case .ping:
            write("3")
        case .open:
            write("40")
        case .connected:
            wasReady = true
            openFlag.withLockedValue { $0 = true }
            ready.succeed()
        case .connectError:
            ready.fail(AttackFailure(outcome: .namespaceRefused))
        case .message, .membership, .other:
            break
        }
    }
}
