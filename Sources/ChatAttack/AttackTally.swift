import NIOConcurrencyHelpers

/// The counts of every attack: attempts, outcomes and bytes received. Safe from any thread.
final class AttackTally: Sendable {
    /// One attack's counts.
    struct Counts: Sendable {
        /// Attempts started (or skipped).
        var attempted = 0
        /// How the attempts ended, and why attack connections were closed.
        var outcomes: [AttackOutcome: Int] = [:]
        /// Bytes the attack's connections received (join acks with histories, events).
        var bytesReceived = 0

        /// Refusals of every kind (error acks, upgrade and namespace refusals, closes by the server).
        var refused: Int {
            outcomes.filter { $0.key.isRefusal }.values.reduce(0, +)
        }
    }

    private let counts = NIOLockedValueBox([AttackKind: Counts]())

    /// Counts one more attempt of `kind`.
    func attempt(_ kind: AttackKind) {
        counts.withLockedValue { $0[kind, default: Counts()].attempted += 1 }
    }

    /// Counts an outcome of `kind` (an attempt's, or a connection's end).
    func record(_ outcome: AttackOutcome, for kind: AttackKind) {
        counts.withLockedValue { $0[kind, default: Counts()].outcomes[outcome, default: 0] += 1 }
    }

    /// Adds `bytes` received by a connection of `kind`.
    func received(_ bytes: Int, for kind: AttackKind) {
        counts.withLockedValue { $0[kind, default: Counts()].bytesReceived += bytes }
    }

    /// A copy of every attack's counts.
    func snapshot() -> [AttackKind: Counts] {
        counts.withLockedValue { $0 }
    }
}
