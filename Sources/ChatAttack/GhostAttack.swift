/// Ghost minting: each attempt connects from the next address of its block, joins one of a few rooms
/// the attacker made under a fresh name, and goes at once, by a namespace disconnect `41` (even
/// attempts) or by closing the socket (odd ones). Each join that succeeds leaves a disconnected member
/// that the broker keeps for its session grace.
final class GhostAttack: Attack, @unchecked Sendable {
    let kind = AttackKind.ghosts
    let rate: Double
    let maxInFlight = 64
    private let context: AttackContext
    private let addresses: AttackAddresses
    private let roomCount: Int
    /// Written once by ``prepare()``, before any attempt.
    private var rooms: [(name: String, password: String)] = []

    /// Mints `rate` ghosts per second over `roomCount` rooms, from `addresses`.
    init(rate: Double, rooms roomCount: Int, addresses: AttackAddresses, context: AttackContext) {
        self.rate = rate
        self.roomCount = roomCount
        self.addresses = addresses
        self.context = context
    }

    func prepare() async throws {
        rooms = try await AttackRooms.make(
            roomCount,
            purpose: "ghosts",
            kind: kind,
            addresses: addresses,
            context: context
        )
        context.log("ghosts: \(roomCount) room(s) to haunt made; \(rate)/s ghosts from \(addresses)")
    }

    func attempt(_ index: Int) async -> AttackOutcome {
        let client: AttackClient
        do {
            client = try await context.connect(kind, from: addresses, index: index)
        } catch let failure as AttackFailure {
            return failure.outcome
        } catch {
            return .connectFailed
        }
        let room = rooms[index % rooms.count]
        let outcome = await client.request(
            "join",
            JSONText.object(["room": room.name, "password": room.password, "name": "ghost-\(index)"]),
            timeout: context.timeout
        )
        await client.close(namespaceFirst: index % 2 == 0)
        return outcome
    }

    func finish() async {}
}
