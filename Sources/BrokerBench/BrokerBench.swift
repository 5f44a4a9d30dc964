import ArgumentParser

/// `BrokerBench`: measures the room broker without gateways or clients. `drive` (the default) drives a
/// running RoomBroker over ZeroMQ (`scripts/bench broker`); `snapshot` times encoding and decoding the
/// state a standby loads, in process (`scripts/bench snapshot`).
@main
struct BrokerBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "BrokerBench",
        abstract: "Measures the room broker alone: over ZeroMQ (drive), or its state snapshot in process (snapshot).",
        subcommands: [DriveBench.self, SnapshotBench.self],
        defaultSubcommand: DriveBench.self
    )
}
