import ChatAPI
import ChatWire
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// The gateway's listening socket: HTTP (static files, API) and Engine.IO over WebSocket on one port,
/// in clear or, with `configuration.tls`, over TLS only.
///
/// Several processes may listen on the same host and port at once (`SO_REUSEPORT`): the kernel
/// spreads new connections across them.
public final class GatewayServer: Sendable {
    /// The configuration the server was started with.
    public let configuration: GatewayServerConfiguration
    /// The listening channel.
    public let channel: any Channel
    /// The address actually bound (with the real port when `configuration.port` was 0).
    public let localAddress: SocketAddress
    /// The event loop group serving the connections.
    public let group: any EventLoopGroup

    private let ownsGroup: Bool
    private let children: ChildChannels
    private let logger: Logger

    /// The bound port.
    public var port: Int { localAddress.port ?? configuration.port }

    private init(
        configuration: GatewayServerConfiguration,
        channel: any Channel,
        localAddress: SocketAddress,
        group: any EventLoopGroup,
        ownsGroup: Bool,
        children: ChildChannels,
        logger: Logger
    ) {
        self.configuration = configuration
        self.channel = channel
        self.localAddress = localAddress
        self.group = group
        self.ownsGroup = ownsGroup
        self.children = children
        self.logger = logger
    }

    /// Loads the static files, binds `host:port` with `SO_REUSEADDR` and `SO_REUSEPORT`, and starts
    /// accepting connections.
    ///
    /// - Parameters:
    ///   - group: The event loops to use; `nil` makes a `MultiThreadedEventLoopGroup` with one thread per
    ///     core that `shutdown()` also shuts down.
    /// - Throws: `GatewayServerError`.
    public static func start(
        configuration: GatewayServerConfiguration,
        behaviour: GatewayServerBehaviour,
        logger: Logger,
        group: (any EventLoopGroup)? = nil
    ) async throws -> GatewayServer {
        try configuration.validate()
        let staticFiles: StaticFiles
        do {
            staticFiles =
                try configuration.staticDirectory.map { directory throws(StaticFilesError) in
                    try StaticFiles(directory: directory)
                } ?? StaticFiles()
        } catch {
            throw GatewayServerError.staticFiles(error)
        }
        if let directory = configuration.staticDirectory {
            logger.debug(
                "static files loaded",
                metadata: ["directory": "\(directory)", "files": "\(staticFiles.count)"]
            )
        }

        let ownsGroup = group == nil
        let group = group ?? MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let children = ChildChannels()
        let limits = ClientLimits(configuration: configuration, onLimited: behaviour.onLimited, logger: logger)
        let environment = HTTPServerHandler.Environment(
            staticFiles: staticFiles,
            apiHandler: behaviour.apiHandler,
            makeEngineDelegate: behaviour.makeEngineDelegate,
            policy: SocketIOUpgradePolicy(
                allowedOrigins: configuration.allowedOrigins,
                isTLS: configuration.tls != nil
            ),
            maxBodyBytes: configuration.maxHTTPBodyBytes,
            requestTimeout: configuration.requestTimeout,
            limits: limits,
            logger: logger
        )

        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(
                ChannelOptions.Types.SocketOption(level: .socket, name: NIOBSDSocket.Option(rawValue: SO_REUSEPORT)),
                value: 1
            )
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // One read of at most `maxReadBytes` per connection and event-loop tick: a busy socket
            // cannot hold a loop for long, and little is read past a read pause (see `maxReadBytes`).
            .childChannelOption(.maxMessagesPerRead, value: 1)
            // The channel keeps its last receive buffer for good (NIO pools it), so every idle
            // connection holds one: start small (`initialReadBytes`); a busy one doubles it per full read.
            .childChannelOption(
                .recvAllocator,
                value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: initialReadBytes, maximum: maxReadBytes)
            )
            .childChannelInitializer { channel in
                let connectionID = ConnectionIDGenerator.next()
                children.insert(channel, id: connectionID)
                // Counted against the connection limits from now until the channel closes.
                let admission = ConnectionAdmission(peer: ClientAddress(channel.remoteAddress), limits: limits)
                channel.closeFuture.assumeIsolated().whenComplete { _ in
                    children.remove(id: connectionID)
                    admission.connectionClosed()
                }
                return channel.eventLoop.makeCompletedFuture {
                    try Self.configureHTTP(
                        channel: channel,
                        connectionID: connectionID,
                        admission: admission,
                        environment: environment,
                        configuration: configuration,
                        logger: logger
                    )
                }
            }

        let serverChannel: any Channel
        do {
            serverChannel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        } catch {
            if ownsGroup { try? await group.shutdownGracefully() }
            throw GatewayServerError.bindFailed(
                host: configuration.host,
                port: configuration.port,
                underlying: "\(error)"
            )
        }
        guard let localAddress = serverChannel.localAddress else {
            try? await serverChannel.close()
            if ownsGroup { try? await group.shutdownGracefully() }
            throw GatewayServerError.bindFailed(
                host: configuration.host,
                port: configuration.port,
                underlying: "no local address after bind"
            )
        }
        logger.debug("gateway listening", metadata: ["address": "\(describe(localAddress))"])
        return GatewayServer(
            configuration: configuration,
            channel: serverChannel,
            localAddress: localAddress,
            group: group,
            ownsGroup: ownsGroup,
            children: children,
            logger: logger
        )
    }

    /// Drains the server: stops accepting at once (other gateways on the port take new clients), closes
    /// every connection (WebSockets get a 1001 "server restarting: reconnect" close frame, never a
    /// Socket.IO `41`, so clients reconnect; their delegates get `engineConnectionDidClose(reason:
    /// .serverShutdown)`), force-closes those still open after `gracePeriod` (one deadline for all),
    /// then shuts the event loop group down if the server made it.
    public func shutdown(gracePeriod: TimeAmount = .seconds(2)) async throws {
        try? await channel.close()
        let open = children.all()
        let deadline = NIODeadline.now() + gracePeriod
        var forceCloses: [Scheduled<Void>] = []
        for child in open {
            child.pipeline.fireUserInboundEventTriggered(EngineChannelHandler.ShutdownEvent())
            forceCloses.append(child.eventLoop.scheduleTask(deadline: deadline) { child.close(promise: nil) })
        }
        for child in open {
            try? await child.closeFuture.get()
        }
        for forceClose in forceCloses { forceClose.cancel() }
        logger.debug("gateway stopped", metadata: ["address": "\(Self.describe(localAddress))"])
        if ownsGroup {
            try await group.shutdownGracefully()
        }
    }

    // MARK: Pipeline

    private static func configureHTTP(
        channel: any Channel,
        connectionID: UInt64,
        admission: ConnectionAdmission,
        environment: HTTPServerHandler.Environment,
        configuration: GatewayServerConfiguration,
        logger: Logger
    ) throws {
        let sync = channel.pipeline.syncOperations
        if let tls = configuration.tls {
            // First, nearest the socket: everything after it sees plain HTTP and WebSocket bytes. Its
            // handshake is bounded by HTTPServerHandler's request deadline, which starts at accept.
            try sync.addHandler(tls.makeServerHandler())
        }
        let remoteAddress = describe(channel.remoteAddress)
        let policy = environment.policy
        let boundAdmission = NIOLoopBound(admission, eventLoop: channel.eventLoop)
        let upgrader = NIOWebSocketServerUpgrader(
            maxFrameSize: configuration.maxPayload,
            automaticErrorHandling: false,
            shouldUpgrade: { channel, head in
                // A refused connection is not upgraded: HTTPServerHandler answers it (429/503/403/400).
                guard case .admitted = boundAdmission.value.admit(head), policy.rejection(for: head) == nil else {
                    return channel.eventLoop.makeSucceededFuture(nil)
                }
                return channel.eventLoop.makeSucceededFuture(HTTPHeaders())
            },
            upgradePipelineHandler: { channel, head in
                channel.eventLoop.makeCompletedFuture {
                    try installEngine(
                        channel: channel,
                        connectionID: connectionID,
                        remoteAddress: remoteAddress,
                        clientAddress: boundAdmission.value.client(of: head),
                        configuration: configuration,
                        makeDelegate: environment.makeEngineDelegate,
                        logger: logger
                    )
                }
            }
        )
        try sync.configureHTTPServerPipeline(
            withServerUpgrade: (
                upgraders: [upgrader],
                completionHandler: { context in
                    // The connection is a WebSocket now: the HTTP handler has nothing left to do.
                    let sync = context.pipeline.syncOperations
                    if let handler = try? sync.handler(type: HTTPServerHandler.self) {
                        sync.removeHandler(handler, promise: nil)
                    }
                }
            ),
            withErrorHandling: false
        )
        try sync.addHandler(
            HTTPServerHandler(
                environment: environment,
                connectionID: connectionID,
                remoteAddress: remoteAddress,
                admission: admission
            )
        )
    }

    /// Called after the 101 response. NIO's upgrader has added its `WebSocketFrameEncoder` and
    /// `WebSocketFrameDecoder`; the encoder cannot be removed, so the decoder and our handlers are put in
    /// front of it (nearer the socket): our pre-built frame `ByteBuffer`s then go straight to the socket,
    /// while `WebSocketFrame`s written from the pipeline's tail would still be encoded by NIO.
    ///
    /// Inbound order: frame decoder (`maxPayload` per frame) → `WebSocketInboundGuard` (masking,
    /// reserved bits, fragment timeout; it must see frames before they are unmasked) →
    /// `NIOWebSocketFrameAggregator` (fragments: `maxPayload` in all, each non-final one at least
    /// `minFragmentBytes`, at most `maxFragments`) → `EngineChannelHandler`.
    private static func installEngine(
        channel: any Channel,
        connectionID: UInt64,
        remoteAddress: String,
        clientAddress: ClientAddress,
        configuration: GatewayServerConfiguration,
        makeDelegate: @escaping @Sendable (EngineConnection) -> any EngineConnectionDelegate,
        logger: Logger
    ) throws {
        let sync = channel.pipeline.syncOperations
        let nioEncoder = try sync.handler(type: WebSocketFrameEncoder.self)
        let nioDecoder = try sync.context(handlerType: ByteToMessageHandler<WebSocketFrameDecoder>.self)
        sync.removeHandler(context: nioDecoder, promise: nil)

        // Above `maxOutboundBufferedBytes` queued bytes the channel turns unwritable and
        // EngineChannelHandler closes it as a slow consumer.
        let waterMark = ChannelOptions.Types.WriteBufferWaterMark(
            low: configuration.maxOutboundBufferedBytes / 2,
            high: configuration.maxOutboundBufferedBytes
        )
        if let options = channel.syncOptions {
            try options.setOption(.writeBufferWaterMark, value: waterMark)
        } else {
            channel.setOption(.writeBufferWaterMark, value: waterMark).whenFailure { error in
                logger.error("could not set the write buffer water mark", metadata: ["error": "\(error)"])
            }
        }

        let connection = EngineConnection(
            id: connectionID,
            remoteAddress: remoteAddress,
            clientAddress: clientAddress,
            eventLoop: channel.eventLoop,
            settings: .init(
                pingInterval: configuration.pingInterval,
                pingTimeout: configuration.pingTimeout,
                maxPayload: configuration.maxPayload,
                connectTimeout: configuration.connectTimeout
            ),
            logger: logger,
            makeDelegate: makeDelegate
        )
        try sync.addHandlers(
            engineHandlers(
                connection: connection,
                maxPayload: configuration.maxPayload,
                fragmentTimeout: configuration.fragmentTimeout
            ),
            position: .before(nioEncoder)
        )
    }

    /// The inbound handlers of an Engine.IO WebSocket, in pipeline order (see `installEngine`).
    static func engineHandlers(
        connection: EngineConnection,
        maxPayload: Int,
        fragmentTimeout: TimeAmount
    ) -> [any ChannelHandler] {
        [
            ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: maxPayload)),
            WebSocketInboundGuard(fragmentTimeout: fragmentTimeout),
            NIOWebSocketFrameAggregator(
                minNonFinalFragmentSize: min(minFragmentBytes, maxPayload),
                maxAccumulatedFrameCount: maxFragments,
                maxAccumulatedFrameSize: maxPayload
            ),
            EngineChannelHandler(connection: connection, maxPayload: maxPayload),
        ]
    }

    /// Most bytes taken from one connection per read (one read per event-loop tick): about two frames
    /// of the largest size, so that little more is decoded after `EngineConnection.pauseReading(until:)`
    /// before the pause holds.
    static let maxReadBytes = 65536
    /// The first read's size: a chat frame or a WebSocket upgrade request usually fits; larger input
    /// doubles it per full read up to `maxReadBytes`. Each idle connection keeps a buffer of this size.
    static let initialReadBytes = 512
    /// Smallest non-final fragment of a fragmented message, in bytes (tiny-fragment floods).
    static let minFragmentBytes = 64
    /// Most fragments one message may have.
    static let maxFragments = 256

    /// `ip:port` (`[ip]:port` for IPv6), or `"unknown"`.
    static func describe(_ address: SocketAddress?) -> String {
        guard let address, let ip = address.ipAddress else { return "unknown" }
        let port = address.port.map(String.init) ?? "?"
        if case .v6 = address { return "[\(ip)]:\(port)" }
        return "\(ip):\(port)"
    }
}

/// The open connections of one server, so that `shutdown()` can close them.
private final class ChildChannels: @unchecked Sendable {
    private let lock = NSLock()
    private var channels: [UInt64: any Channel] = [:]

    func insert(_ channel: any Channel, id: UInt64) {
        lock.lock()
        defer { lock.unlock() }
        channels[id] = channel
    }

    func remove(id: UInt64) {
        lock.lock()
        defer { lock.unlock() }
        channels[id] = nil
    }

    func all() -> [any Channel] {
        lock.lock()
        defer { lock.unlock() }
        return Array(channels.values)
    }
}
