import Foundation

/// What ChatAttack did: per attack, its rate, attempts and outcomes; and the attacker's own CPU.
struct AttackReport: Codable, Sendable {
    /// One attack's line.
    struct Entry: Codable, Sendable {
        /// Which attack.
        var kind: AttackKind
        /// Attempts per second asked for.
        var rate: Double
        /// Attempts started or skipped.
        var attempted: Int
        /// Attempts the server accepted.
        var accepted: Int
        /// Refusals: error acks, refused upgrades and connects, connections closed by the server.
        var refused: Int
        /// Every outcome by name (e.g. `rate_limited`, `closed 1008`, `sent (no answer expected)`).
        var outcomes: [String: Int]
        /// Bytes the attack's connections received.
        var bytesReceived: Int
    }

    /// Seconds the attacks ran (after their preparation).
    var seconds: Double
    /// CPU time (user + system) of the attacker over its whole run, s.
    var cpuSeconds: Double
    /// Event-loop threads of the attacker.
    var threads: Int
    /// One entry per attack that ran.
    var attacks: [Entry]

    /// The report of `attacks` from `tally`.
    init(attacks: [any Attack], tally: AttackTally, seconds: Double, cpuSeconds: Double, threads: Int) {
        let counts = tally.snapshot()
        self.seconds = seconds
        self.cpuSeconds = cpuSeconds
        self.threads = threads
        self.attacks = attacks.map { attack in
            let kindCounts = counts[attack.kind] ?? AttackTally.Counts()
            return Entry(
                kind: attack.kind,
                rate: attack.rate,
                attempted: kindCounts.attempted,
                accepted: kindCounts.outcomes[.accepted] ?? 0,
                refused: kindCounts.refused,
                outcomes: Dictionary(kindCounts.outcomes.map { ($0.key.description, $0.value) }, uniquingKeysWith: +),
                bytesReceived: kindCounts.bytesReceived
            )
        }
    }

    /// The report as a table, one attack per line, then the attacker's CPU.
    var table: String {
        var lines = [
            "attack       rate/s  attempted  accepted   refused  received  outcomes"
        ]
        for entry in attacks {
            let outcomes = entry.outcomes.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }
            let name = entry.kind.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)
            let counts = String(
                format: " %7.0f %10d %9d %9d %7.1fM  ",
                entry.rate,
                entry.attempted,
                entry.accepted,
                entry.refused,
                Double(entry.bytesReceived) / 1_048_576
            )
            lines.append(name + counts + outcomes.joined(separator: ", "))
        }
        lines.append(
            String(
                format:
                    "attacker CPU %.1f s over %.1f s of attack (%.2f cores, %d event-loop thread(s), setup included)",
                cpuSeconds,
                seconds,
                seconds > 0 ? cpuSeconds / seconds : 0,
                threads
            )
        )
        return lines.joined(separator: "\n")
    }

    /// Writes the report as JSON to `path`.
    func write(toJSON path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path))
    }
}
