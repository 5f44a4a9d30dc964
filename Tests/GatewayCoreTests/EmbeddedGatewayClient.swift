import ChatAPI
import ChatTestSupport
import ChatWire
import Logging
import NIOCore
import NIOEmbedded
import NIOWebSocket

@testable import GatewayCore

/// One client connection of a gateway on an `EmbeddedChannel`, set up as the server sets up a
/// WebSocket: an ``EngineConnection`` behind the engine handlers, and a decoder that reads the frames
/// the gateway writes as the client sees them.
final class EmbeddedGatewayClient {
    let channel: EmbeddedChannel
    let connection: EngineConnection
    private let decoder = EmbeddedChannel()

    /// Connection `id` on a new `EmbeddedChannel` of `loop`, whose delegate (the session)
    /// `makeDelegate` makes when it opens; ``connect()`` opens it. `socketHandlers` go next to the
    /// socket, before the engine's (e.g. one that counts the writes and flushes reaching it).
    init(
        id: UInt64 = 7,
        loop: EmbeddedEventLoop = EmbeddedEventLoop(),
        socketHandlers: [any ChannelHandler] = [],
        makeDelegate: @escaping @Sendable (EngineConnection) -> any EngineConnectionDelegate
    ) throws {
        channel = EmbeddedChannel(loop: loop)
        connection = EngineConnection(
            id: id,
            remoteAddress: "127.0.0.1:5000",
            clientAddress: ClientAddress("127.0.0.1") ?? .unspecified,
            eventLoop: channel.embeddedEventLoop,
            settings: .init(
                pingInterval: .seconds(25),
                pingTimeout: .seconds(20),
                maxPayload: 32768,
                connectTimeout: .seconds(20)
            ),
            logger: Logger(label: "test"),
            makeDelegate: makeDelegate
        )
        try channel.pipeline.syncOperations.addHandlers(socketHandlers)
        try channel.pipeline.syncOperations.addHandlers(
            GatewayServer.engineHandlers(connection: connection, maxPayload: 32768, fragmentTimeout: .seconds(10))
        )
        try decoder.pipeline.syncOperations.addHandler(
            ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 24))
        )
    }

    /// Opens the connection (the gateway then writes the Engine.IO open packet).
    func connect() throws {
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 5000)).wait()
    }

    /// Sends one text frame, as the client would.
    func send(_ text: String) throws {
        try channel.writeInbound(clientFrame(.text, text))
    }

    /// The frames the gateway wrote since the last call.
    func frames() throws -> [WebSocketFrame] {
        while let bytes = try channel.readOutbound(as: ByteBuffer.self) {
            try decoder.writeInbound(bytes)
        }
        var frames: [WebSocketFrame] = []
        while let frame = try decoder.readInbound(as: WebSocketFrame.self) { frames.append(frame) }
        return frames
    }

    /// The texts of the frames the gateway wrote since the last call.
    func texts() throws -> [String] {
        try frames().map { String(buffer: $0.data) }
    }

    /// Closes both channels, ignoring what is left in them.
    func finish() {
        _ = try? channel.finish()
        _ = try? decoder.finish()
    }
}
