import DequeModule

/// Where one broker of a pair stands in the replication (the Clone pattern): one phase, carrying the
/// data of that phase only. The first three are an active's view of its standby, the last three a
/// standby's copy of the active's state.
enum Replication {
    /// No standby counts: the active acknowledges alone (none heard, it fell silent, or it fell behind).
    case standbyAbsent
    /// A standby asked for the state: the snapshot is being encoded, then sent in parts.
    case standbySyncing(Sending)
    /// The standby has every update so far: outputs wait for its acks.
    case standbyInSync(InSync)
    /// No state: asks the active for a snapshot, keeping the updates that arrive meanwhile.
    case waiting(Waiting)
    /// Receiving (then decoding) the snapshot, keeping the updates that arrive meanwhile.
    case loading(Loading)
    /// Holds the state up to update `applied`.
    case following(applied: UInt64)

    /// A snapshot on its way to the standby.
    struct Sending {
        /// The standby's request tag, echoed in every part (a retry while encoding takes this one over).
        var sync: UInt64
        /// The update the snapshot was taken after.
        var base: UInt64
        /// The encoding work.
        var work: UInt64
        /// The encoded snapshot, once the work is done.
        var bytes: [UInt8]?
        /// The next part to send, and how many parts the standby has confirmed.
        var next: UInt32 = 0
        var confirmed: UInt32 = 0

        /// How many parts the snapshot has.
        var parts: UInt32 {
            guard let bytes else { return 0 }
            return UInt32(max(1, (bytes.count + PeerMessage.chunkSize - 1) / PeerMessage.chunkSize))
        }
    }

    /// The standby keeps up.
    struct InSync {
        /// Outputs waiting for the standby's ack of their update, oldest first.
        var held = Deque<HeldOutput>()
    }

    /// What an input produced, held until the standby acknowledges update `seq`.
    struct HeldOutput: Sendable {
        var seq: UInt64
        var actions: [NodeAction]
    }

    /// A standby without the state.
    struct Waiting {
        /// The last request's tag and when it was sent.
        var sync: UInt64?
        var askedAt: UInt64?
        /// Updates that arrived since (the next snapshot may be older than some of them).
        var updates = UpdateBuffer()
    }

    /// A standby receiving snapshot `sync`.
    struct Loading {
        var sync: UInt64
        /// The update the snapshot was taken after.
        var base: UInt64
        /// The parts so far.
        var bytes: [UInt8]
        var nextIndex: UInt32
        /// The decoding work, once every part is in.
        var decoding: UInt64?
        /// Whether the snapshot is decoded and in the engine: the kept updates are being applied, a
        /// batch per tick, so the loop keeps answering heartbeats however many came meanwhile.
        var loaded = false
        /// When the last part arrived (a transfer that stalls is given up).
        var lastProgress: UInt64
        /// Updates after `base`, applied once the snapshot is loaded.
        var updates: UpdateBuffer
    }

    /// Updates kept by a standby until its snapshot is loaded, bounded in bytes.
    struct UpdateBuffer {
        struct Update {
            var seq: UInt64
            var input: BrokerInput
            var digest: UInt64
        }

        private(set) var updates = Deque<Update>()
        private(set) var bytes = 0

        /// How many updates are kept.
        var count: Int { updates.count }

        /// Keeps an update; false when that would pass `limit` bytes (the caller starts over).
        mutating func add(seq: UInt64, input: BrokerInput, digest: UInt64, limit: Int) -> Bool {
            let size = Self.size(of: input)
            guard bytes + size <= limit else { return false }
            bytes += size
            updates.append(Update(seq: seq, input: input, digest: digest))
            return true
        }

        /// Drops the updates a snapshot taken after `base` already contains.
        mutating func drop(upTo base: UInt64) {
            while let first = updates.first?.seq, first <= base { _ = popFirst() }
        }

        /// Removes and returns the oldest update.
        mutating func popFirst() -> Update? {
            guard let first = updates.popFirst() else { return nil }
            bytes -= Self.size(of: first.input)
            return first
        }

        static func size(of input: BrokerInput) -> Int {
            switch input {
            case .command(let gateway, let frame, _, let entropy):
                return 64 + gateway.utf8.count + frame.count + entropy.count * 8
            case .tick: return 32
            case .gatewayClosed(let gateway, _): return 32 + gateway.utf8.count
            }
        }
    }
}

/// Taking a phase's data out to change it: the phase becomes `.standbyAbsent` until the caller puts the
/// changed data back. Binding a payload in a `switch` or `if case` keeps a second reference alive (in
/// debug builds for the whole scope), so appending to its buffers would copy them each time: a snapshot
/// received in parts, or the updates kept meanwhile, would cost time quadratic in their size.
extension Replication {
    /// Whether the standby is in sync (its acks release outputs).
    var isInSync: Bool {
        if case .standbyInSync = self { return true }
        return false
    }

    /// Whether a standby holds the state and applies updates.
    var isFollowing: Bool {
        if case .following = self { return true }
        return false
    }

    mutating func takeInSync(if isTaken: (InSync) -> Bool = { _ in true }) -> InSync? {
        guard case .standbyInSync(let inSync) = self, isTaken(inSync) else { return nil }
        self = .standbyAbsent
        return inSync
    }

    mutating func takeWaiting(if isTaken: (Waiting) -> Bool = { _ in true }) -> Waiting? {
        guard case .waiting(let waiting) = self, isTaken(waiting) else { return nil }
        self = .standbyAbsent
        return waiting
    }

    mutating func takeLoading(if isTaken: (Loading) -> Bool = { _ in true }) -> Loading? {
        guard case .loading(let loading) = self, isTaken(loading) else { return nil }
        self = .standbyAbsent
        return loading
    }

    mutating func takeSending(if isTaken: (Sending) -> Bool = { _ in true }) -> Sending? {
        guard case .standbySyncing(let sending) = self, isTaken(sending) else { return nil }
        self = .standbyAbsent
        return sending
    }
}
