/// Room creation flood: `create` without a room name (the server picks one) over one long-lived
/// connection per address of the block, oldest free connection first, so the per-connection and
/// per-address limits see the rate divided by the number of addresses.
final class CreateAttack: Attack, @unchecked Sendable {
    let kind = AttackKind.creates
    let rate: Double
    let maxInFlight: Int
    private let context: AttackContext
    private let connections: AttackConnections

    /// `rate` creations per second over one connection per address of `addresses`.
    init(rate: Double, addresses: AttackAddresses, context: AttackContext) {
        self.rate = rate
        self.maxInFlight = addresses.count
        self.context = context
        self.connections = AttackConnections(.creates, count: addresses.count, addresses: addresses, context: context)
    }

    func prepare() async throws {
        context.log("creates: \(rate)/s from \(maxInFlight) connection(s), one per address")
    }

    func attempt(_ index: Int) async -> AttackOutcome {
        let timeout = context.timeout
        return await connections.use { _, client in
            await client.request("create", JSONText.object(["name": "flooder"]), timeout: timeout)
        }
    }

    func finish() async {
        await connections.closeAll()
    }
}
