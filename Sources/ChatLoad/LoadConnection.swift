import NIOCore
import NIOPosix

/// Opens the TCP connections of the load tools: to a gateway on loopback, from a chosen source
/// address, without Nagle's delay.
public enum LoadConnection {
    /// Connects to `host:port` on `eventLoop` (from `source` when given) and returns the channel once
    /// connected; `handlers` fills its pipeline first.
    public static func open(
        on eventLoop: any EventLoop,
        host: String,
        port: Int,
        source: SocketAddress?,
        timeout: TimeAmount,
        handlers: @escaping @Sendable (any Channel) throws -> Void
    ) async throws -> any Channel {
        var bootstrap = ClientBootstrap(group: eventLoop)
        if let source { bootstrap = bootstrap.bind(to: source) }
        return
            try await bootstrap
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(timeout)
            .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try handlers(channel) } }
            .connect(host: host, port: port)
            .get()
    }
}
