import ChatWire
import Logging

/// The node and its journal on disk: starting from a state read back, the entries that keep the state
/// (``NodeAction/journal(_:)``), and when a snapshot on disk is due.
extension BrokerNode {
    /// What ``recover(_:now:)`` read back.
    public struct Recovery: Sendable, Equatable {
        /// Inputs replayed after the snapshot.
        public var replayed: Int
        /// The last update of the state.
        public var position: UInt64
        /// Whether the state took a new instance id (events after the last fsync may be lost).
        public var newInstance: Bool
    }

    /// Starts from `state` (before any other input): its snapshot, then its entries replayed in order.
    /// Stops at the first input that does not follow (the journal reader already cut damaged bytes).
    public mutating func recover(_ state: RecoveredState, now: BrokerClock) -> Recovery {
        var replaying = BrokerEngine(snapshot: state.snapshot, logger: Self.quiet(logger))
        // Replayed events were logged when they happened; only warnings now.
        replaying.logger.logLevel = .critical
        updateSeq = state.base
        var replayed = 0
        entries: for entry in state.entries {
            switch entry {
            case .updates(_, let frame):
                guard case .updates(let updates)? = try? PeerMessage.decode(frame) else { break entries }
                for update in updates where update.seq > updateSeq {
                    guard update.seq == updateSeq + 1 else {
                        logger.error(
                            "journal-gap",
                            metadata: ["reason": "update \(update.seq) follows \(updateSeq): replay stops there"]
                        )
                        break entries
                    }
                    _ = replaying.apply(update.input)
                    lastEngineMonotonic = max(lastEngineMonotonic, update.input.now.monotonic)
                    updateSeq = update.seq
                    replayed += 1
                }
            case .term(let term):
                replaying.term = term
            case .instance(let instance):
                replaying.instance = instance
            case .lineage:
                break entries
            }
        }
        let newInstance = !state.keepsEveryAcknowledged
        if newInstance { replaying.instance = String(UInt64.random(in: 1...UInt64.max), radix: 36) }
        replaying.logger = star == nil ? logger : Self.quiet(logger)
        engine = replaying
        recovered = true
        star?.restore(term: engine.term)
        // The engine's clock goes on from the last input (the machine's may have restarted from zero).
        if lastEngineMonotonic > 0 {
            clockOffset = Int64(bitPattern: lastEngineMonotonic) - Int64(bitPattern: now.monotonic)
        }
        return Recovery(replayed: replayed, position: updateSeq, newInstance: newInstance)
    }

    /// What the journal needs before the first input: a broker alone that read nothing back starts a
    /// lineage with its empty state; a state read back under a new instance id records it.
    public mutating func start() -> [NodeAction] {
        guard journaling else { return [] }
        if recovered {
            return [.journal(.term(engine.term)), .journal(.instance(engine.instance))]
        }
        guard star == nil else { return [] }  // a pair's broker starts a lineage when it becomes active
        journalBytesSinceSnapshot = 0
        return [.journal(.lineage(base: updateSeq, snapshot: engine.snapshot()))]
    }

    /// The term this node's state ranks with while the pair starts: the term its state was last made
    /// active in (a state read back from disk), else the highest term known.
    var rankTerm: UInt64 {
        guard let star, star.state == .primary || star.state == .backup, hasState else { return term }
        return engine.term
    }

    /// A snapshot for the disk when the journal has grown past `everyBytes` (or the state's size, if
    /// larger) since the last one: taken after update ``lastUpdate`` (call after ``flushUpdates()``, so
    /// the journal has every update up to it); nil when none is due or this node holds no state.
    public mutating func diskSnapshot(everyBytes: Int) -> BrokerSnapshot? {
        guard journaling, hasState, journalBytesSinceSnapshot >= max(everyBytes, engine.registry.storedBytes)
        else { return nil }
        journalBytesSinceSnapshot = 0
        return engine.snapshot()
    }

    /// The error of a command refused while the journal cannot be written.
    static var storageFullError: ChatError {
        ChatError(
            .storageFull,
            "the server cannot save new rooms or messages right now (its disk is full); try again later"
        )
    }
}

extension BrokerNode {
    /// A new lineage of the whole state, for a journal that lost records (nothing when this node holds
    /// no state: its next state starts one).
    public mutating func restartLineage() -> [NodeAction] {
        guard journaling, hasState else { return [] }
        journalBytesSinceSnapshot = 0
        return [.journal(.lineage(base: updateSeq, snapshot: engine.snapshot()))]
    }
}
