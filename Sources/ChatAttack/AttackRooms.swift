import NIOCore
import SocketIO

/// The rooms an attack needs, made through the normal client protocol before the clock starts.
enum AttackRooms {
    /// Creates `count` rooms named `attack-<tag>-<purpose>-<i>`, room `i` from `addresses`' address `i`,
    /// and returns their names and passwords.
    static func make(
        _ count: Int,
        purpose: String,
        kind: AttackKind,
        addresses: AttackAddresses,
        context: AttackContext
    ) async throws -> [(name: String, password: String)] {
        let names = (0..<count).map { "attack-\(context.tag)-\(purpose)-\($0)" }
        let passwords = try await create(names, kind: kind, addresses: addresses, first: 0, context: context)
        return Array(zip(names, passwords))
    }

    /// Creates rooms named `names`, room `r` from `addresses`' address `first + r`, and returns their passwords.
    private static func create(
        _ names: [String],
        kind: AttackKind,
        addresses: AttackAddresses,
        first: Int,
        context: AttackContext
    ) async throws -> [String] {
        var passwords: [String] = []
        for (r, name) in names.enumerated() {
            let client = try await context.connect(kind, from: addresses, index: first + r)
            let ack = await client.requestJSON(
                "create",
                JSONText.object(["name": "attacker", "room": name]),
                timeout: context.timeout
            )
            await client.close(namespaceFirst: false)
            guard let password = ack?[0]?["password"]?.stringValue else {
                throw AttackSetupError.refused("create \(name): \(ack.map { "\($0)" } ?? "no ack")")
            }
            passwords.append(password)
        }
        return passwords
    }

    /// Fills `room`'s history: `fillers` members (from `addresses`' addresses `first…`) join, each sends
    /// `messagesEach` messages of `text` (waiting for each ack), leaves and closes.
    static func fill(
        room: String,
        password: String,
        text: String,
        fillers: Int,
        messagesEach: Int,
        addresses: AttackAddresses,
        first: Int,
        context: AttackContext
    ) async throws {
        let message = JSONText.object(["room": room, "text": text])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for filler in 0..<fillers {
                group.addTask {
                    let client = try await context.connect(.joinCycles, from: addresses, index: first + filler)
                    let join = JSONText.object(["room": room, "password": password, "name": "filler-\(filler)"])
                    var outcome = await client.request("join", join, timeout: context.timeout)
                    for _ in 0..<messagesEach where outcome == .accepted {
                        outcome = await client.request("message", message, timeout: context.timeout)
                    }
                    if outcome == .accepted {
                        outcome = await client.request(
                            "leave",
                            JSONText.object(["room": room]),
                            timeout: context.timeout
                        )
                    }
                    await client.close(namespaceFirst: true)
                    guard outcome == .accepted else {
                        throw AttackSetupError.refused("filling \(room): \(outcome)")
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}
