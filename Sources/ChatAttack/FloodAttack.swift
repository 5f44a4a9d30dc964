/// Packet floods over a few long-lived connections, one packet per attempt, round robin over the
/// connections; a connection the server closes (e.g. 1008 for the packet rate) is opened again at its
/// next turn. ``AttackKind/pings`` sends Engine.IO pings `2`; ``AttackKind/junk`` cycles through
/// ``JunkPacket``: unknown events, wrongly shaped arguments and broken JSON (with ack ids, so the
/// refusal comes back), noops and unsolicited pongs.
final class FloodAttack: Attack, @unchecked Sendable {
    let kind: AttackKind
    let rate: Double
    let maxInFlight: Int
    private let context: AttackContext
    private let connections: AttackConnections

    /// `rate` packets per second of `kind` (``AttackKind/pings`` or ``AttackKind/junk``) over
    /// `connectionCount` connections from `addresses`.
    init(
        _ kind: AttackKind,
        rate: Double,
        connections connectionCount: Int,
        addresses: AttackAddresses,
        context: AttackContext
    ) {
        self.kind = kind
        self.rate = rate
        self.maxInFlight = connectionCount
        self.context = context
        self.connections = AttackConnections(kind, count: connectionCount, addresses: addresses, context: context)
    }

    func prepare() async throws {
        context.log("\(kind.rawValue): \(rate)/s over \(maxInFlight) connection(s)")
    }

    func attempt(_ index: Int) async -> AttackOutcome {
        let (kind, timeout) = (self.kind, context.timeout)
        return await connections.use { _, client in
            guard kind == .junk else { return await client.send("2") }
            let junk = JunkPacket.allCases[index % JunkPacket.allCases.count]
            guard junk.hasAck else { return await client.send(junk.text(ackID: 0)) }
            return await client.requestRaw(timeout: timeout) { junk.text(ackID: $0) }
        }
    }

    func finish() async {
        await connections.closeAll()
    }
}
