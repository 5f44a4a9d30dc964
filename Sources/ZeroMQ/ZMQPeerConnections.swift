/// Which peer (ROUTER routing id) each connection of a bound ROUTER carries, learnt from the messages
/// it receives, so that a ``ZMQConnectionMonitor``'s `disconnected` names the peer that went away: a
/// killed process's connections close at once, long before its heartbeats are missed.
///
/// A descriptor is reused by the kernel once closed. The monitor reports a close before the descriptor
/// is freed and an accept before the new connection's first message, and the loop reads events before
/// messages, so a close is attributed to the peer it belonged to; the one doubtful case, a close and a
/// new accept of the same descriptor in one batch of events, reports nothing (the caller's heartbeat
/// timeout still notices a peer that is gone). A peer also heard on another open connection (it
/// reconnected, and the old connection closed late) is not reported.
public struct ZMQPeerConnections: Sendable {
    /// The routing id last heard on each open connection.
    private var peers: [ZMQConnection: [UInt8]] = [:]

    /// No connections known.
    public init() {}

    /// Connections with a known peer.
    public var count: Int { peers.count }

    /// Records that `peer` sent a message through `connection` (call for every message: cheap when
    /// nothing changed).
    public mutating func heard(_ peer: [UInt8], on connection: ZMQConnection) {
        guard connection.descriptor >= 0, peers[connection] != peer else { return }
        peers[connection] = peer
    }

    /// Applies a batch of monitor events (oldest first) and returns the peers whose connection closed,
    /// in the order they did.
    public mutating func apply(_ events: [ZMQConnectionEvent]) -> [[UInt8]] {
        var closed: [[UInt8]] = []
        for (index, event) in events.enumerated() {
            guard case .disconnected(let connection) = event else { continue }
            guard let peer = peers.removeValue(forKey: connection) else { continue }
            // Reused within this batch: the routing id may have come from the new connection already.
            let reused = events[(index + 1)...].contains(.accepted(connection))
            // A peer that reconnected (handover) is heard on its new connection: not gone.
            let elsewhere = peers.values.contains(peer)
            if !reused && !elsewhere { closed.append(peer) }
        }
        return closed
    }
}
