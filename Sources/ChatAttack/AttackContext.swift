import NIOCore

/// What every attack shares: the gateway, the event loops, the counts, the stop flag and the log.
struct AttackContext: Sendable {
    /// Gateway address (loopback).
    let host: String
    /// Gateway port.
    let port: Int
    /// The attacker's event loops (connections are spread over them round robin).
    let loops: [any EventLoop]
    /// Every attack's counts.
    let tally: AttackTally
    /// Set when the attack should end.
    let stop: StopFlag
    /// Time allowed for a connect or an answer.
    let timeout: TimeAmount
    /// A random tag in the names of this run's rooms.
    let tag: String
    /// Prints one progress line.
    let log: @Sendable (String) -> Void

    /// Opens a connection of `kind` from `addresses`' address `index`, on loop `index` round robin.
    func connect(_ kind: AttackKind, from addresses: AttackAddresses, index: Int) async throws -> AttackClient {
        try await AttackClient.connect(
            kind: kind,
            host: host,
            port: port,
            source: addresses.address(for: index),
            eventLoop: loops[index % loops.count],
            tally: tally,
            timeout: timeout
        )
    }
}
