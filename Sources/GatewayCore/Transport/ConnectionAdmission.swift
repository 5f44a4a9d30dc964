import ChatAPI
import ChatWire
import NIOCore
import NIOHTTP1

/// Whether one connection may be served, decided once at its first request head (when the client
/// address is known, forwarded by a trusted proxy or not) and remembered, so that the WebSocket
/// upgrader and the HTTP handler always agree. Confined to the connection's event loop.
final class ConnectionAdmission {
    /// The decision for the connection.
    enum Decision: Equatable {
        /// Served; the connection holds one of the client's slots until it closes.
        case admitted(ClientAddress)
        /// Refused by `limit`: answered 429 or 503 and closed.
        case refused(GatewayLimit, ClientAddress)
    }

    let peer: ClientAddress
    private let limits: ClientLimits
    private let withinTotal: Bool
    private var heldSlots: [(scope: AddressScope, key: String)] = []
    private(set) var decision: Decision?

    /// Counts the accepted connection against the process total.
    init(peer: ClientAddress, limits: ClientLimits) {
        self.peer = peer
        self.limits = limits
        withinTotal = limits.connections.opened()
    }

    /// The decision for the connection, made at the first call.
    func admit(_ head: HTTPRequestHead) -> Decision {
        if let decision { return decision }
        let client = limits.client(peer: peer, head: head)
        let keys = client.limitKeys
        let decision: Decision
        var refusedKey = client.rateLimitKey
        if !withinTotal {
            decision = .refused(.connections, client)
        } else if let full = limits.connections.acquire(keys) {
            refusedKey = keys.first { $0.scope == full }?.key ?? refusedKey
            decision = .refused(.connectionsPerAddress, client)
        } else {
            heldSlots = keys
            decision = .admitted(client)
        }
        if case .refused(let limit, _) = decision {
            limits.reporter.limited(limit, client: refusedKey)
        }
        self.decision = decision
        return decision
    }

    /// The client of a later request on the same connection (a proxy may reuse one connection for
    /// several clients).
    func client(of head: HTTPRequestHead) -> ClientAddress {
        limits.client(peer: peer, head: head)
    }

    /// The connection closed: gives back its slots.
    func connectionClosed() {
        limits.connections.closed()
        limits.connections.release(heldSlots)
        heldSlots = []
    }
}
