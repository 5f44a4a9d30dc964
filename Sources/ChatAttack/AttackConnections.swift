/// A fixed number of long-lived connections of one attack, connection `i` from address `first + i` of
/// its block; each is (re)opened when it is taken and not open (the server closed it). Attempts take
/// one, use it alone and give it back, oldest free first.
actor AttackConnections {
    private let kind: AttackKind
    private let context: AttackContext
    private let addresses: AttackAddresses
    private let first: Int
    private var slots: [AttackClient?]
    private var free: [Int]

    /// `count` connections of `kind` from `addresses`, from its address `first` on; none opened yet.
    init(_ kind: AttackKind, count: Int, addresses: AttackAddresses, first: Int = 0, context: AttackContext) {
        self.kind = kind
        self.context = context
        self.addresses = addresses
        self.first = first
        self.slots = Array(repeating: nil, count: count)
        self.free = Array(0..<count)
    }

    /// Takes a free connection, opening it first if needed; `nil` when none is free. Throws the
    /// ``AttackFailure`` of an opening that failed (the slot is free again then).
    func take() async throws -> (slot: Int, client: AttackClient)? {
        guard !free.isEmpty else { return nil }
        let slot = free.removeFirst()
        if let client = slots[slot], client.isOpen { return (slot, client) }
        do {
            let client = try await context.connect(kind, from: addresses, index: first + slot)
            slots[slot] = client
            return (slot, client)
        } catch {
            slots[slot] = nil
            free.append(slot)
            throw error
        }
    }

    /// Gives back a connection taken with ``take()``.
    func give(_ slot: Int) {
        free.append(slot)
    }

    /// Closes every connection.
    func closeAll() async {
        for client in slots.compactMap({ $0 }) { await client.close(namespaceFirst: false) }
        slots = Array(repeating: nil, count: slots.count)
    }
}

extension AttackConnections {
    /// Runs `body` on a free connection (and its slot number) and returns its outcome, or why it could not run: ``AttackOutcome/skipped``
    /// when none is free, the failure of opening one.
    nonisolated func use(
        _ body: @Sendable (_ slot: Int, _ client: AttackClient) async -> AttackOutcome
    ) async -> AttackOutcome {
        let taken: (slot: Int, client: AttackClient)?
        do {
            taken = try await take()
        } catch let failure as AttackFailure {
            return failure.outcome
        } catch {
            return .connectFailed
        }
        guard let taken else { return .skipped }
        let outcome = await body(taken.slot, taken.client)
        await give(taken.slot)
        return outcome
    }
}
