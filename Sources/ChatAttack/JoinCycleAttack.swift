/// Join cycling on full histories: a few rooms are first filled with messages of 2,000 four-byte
/// characters (8,000 bytes, the largest text) through the normal protocol, then long-lived members
/// join and leave them in turn, each join answered with the room's whole kept history.
final class JoinCycleAttack: Attack, @unchecked Sendable {
    let kind = AttackKind.joinCycles
    let rate: Double
    let maxInFlight: Int
    private let context: AttackContext
    private let addresses: AttackAddresses
    private let roomCount: Int
    private let messagesPerRoom: Int
    private let cyclers: AttackConnections
    /// Written once by ``prepare()``, before any attempt.
    private var rooms: [(name: String, password: String)] = []

    /// Members filling one room's history, each sending its share of the messages.
    private static let fillersPerRoom = 4

    /// `rate` join + leave cycles per second by `cyclers` members over `roomCount` rooms of
    /// `messagesPerRoom` large messages each, from `addresses`.
    init(
        rate: Double,
        rooms roomCount: Int,
        messagesPerRoom: Int,
        cyclers cyclerCount: Int,
        addresses: AttackAddresses,
        context: AttackContext
    ) {
        self.rate = rate
        self.roomCount = roomCount
        self.messagesPerRoom = messagesPerRoom
        self.maxInFlight = cyclerCount
        self.addresses = addresses
        self.context = context
        // Addresses: the rooms' creators, then their fillers, then the cyclers.
        self.cyclers = AttackConnections(
            .joinCycles,
            count: cyclerCount,
            addresses: addresses,
            first: roomCount * (1 + Self.fillersPerRoom),
            context: context
        )
    }

    func prepare() async throws {
        rooms = try await AttackRooms.make(
            roomCount,
            purpose: "history",
            kind: kind,
            addresses: addresses,
            context: context
        )
        let text = String(repeating: "\u{1F600}", count: 2000)
        let messagesEach = (messagesPerRoom + Self.fillersPerRoom - 1) / Self.fillersPerRoom
        context.log(
            "joinCycles: filling \(roomCount) room history(ies) with \(messagesEach * Self.fillersPerRoom) messages of \(text.utf8.count) bytes"
        )
        for (r, room) in rooms.enumerated() {
            try await AttackRooms.fill(
                room: room.name,
                password: room.password,
                text: text,
                fillers: Self.fillersPerRoom,
                messagesEach: messagesEach,
                addresses: addresses,
                first: roomCount + r * Self.fillersPerRoom,
                context: context
            )
        }
        context.log("joinCycles: histories full; \(rate)/s join + leave cycles by \(maxInFlight) members")
    }

    func attempt(_ index: Int) async -> AttackOutcome {
        let room = rooms[index % rooms.count]
        let timeout = context.timeout
        return await cyclers.use { slot, client in
            let outcome = await client.request(
                "join",
                JSONText.object(["room": room.name, "password": room.password, "name": "cycler-\(slot)"]),
                timeout: timeout
            )
            if outcome == .accepted {
                _ = await client.request("leave", JSONText.object(["room": room.name]), timeout: timeout)
            }
            return outcome
        }
    }

    func finish() async {
        await cyclers.closeAll()
    }
}
