import ChatAPI
import ChatWire
import Logging
import NIOCore
import NIOHTTP1

/// The per-address and per-process limits of one gateway server, shared by all its connections:
/// who the client is (trusted proxies), connection counts, the HTTP request buckets, and the
/// reporting of every refusal.
final class ClientLimits: Sendable {
    let trustedProxies: TrustedProxies
    let connections: ConnectionCounter
    let httpRequests: RequestRateLimiter
    let reporter: LimitReporter

    init(
        configuration: GatewayServerConfiguration,
        onLimited: (@Sendable (GatewayLimit) -> Void)? = nil,
        logger: Logger
    ) {
        trustedProxies = configuration.trustedProxies
        connections = ConnectionCounter(
            maxTotal: configuration.maxConnections,
            maxPerKey: configuration.maxConnectionsPerAddress
        )
        httpRequests = RequestRateLimiter(
            perSecond: configuration.httpRequestsPerSecond,
            burst: configuration.httpRequestBurst
        )
        reporter = LimitReporter(logger: logger, onLimited: onLimited)
    }

    /// The client of a request that came from `peer`: `peer` itself unless it is a trusted proxy.
    func client(peer: ClientAddress, head: HTTPRequestHead) -> ClientAddress {
        guard !trustedProxies.ranges.isEmpty else { return peer }
        return trustedProxies.client(
            peer: peer,
            forwarded: head.headers[canonicalForm: "forwarded"].map(String.init),
            xForwardedFor: head.headers[canonicalForm: "x-forwarded-for"].map(String.init)
        )
    }

    /// Whether `client` may make one more HTTP API request now; reports the refusal if not.
    func allowHTTPRequest(from client: ClientAddress) -> Bool {
        let keys = client.limitKeys
        guard let empty = httpRequests.allow(keys) else { return true }
        reporter.limited(.httpRequestsPerAddress, client: keys.first { $0.scope == empty }?.key ?? client.rateLimitKey)
        return false
    }
}
