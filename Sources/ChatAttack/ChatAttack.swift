import ArgumentParser
import ChatLoad
import Foundation
import NIOCore
import NIOPosix
import ProcessLimits

/// `ChatAttack`: hostile load against running gateways while a benchmark runs: ghost members, join
/// cycles on full histories, ping and junk floods and room creations, each at a given rate and from
/// its own block of loopback addresses; reports what it attempted and what was refused.
@main
struct ChatAttack: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ChatAttack",
        abstract: "Hostile clients against the chat gateways, at fixed rates, from many loopback addresses.",
        discussion: """
            Talks to loopback only. Each attack connects from its own addresses, 127.0.K.2 … \
            127.0.K.<1 + --addresses> (K: ghosts 1, join cycles 2, pings 3, junk 4, creates 5), so \
            the gateway's per-address limits see many clients. The attacks first make what they need \
            (rooms to haunt, rooms with full histories), write --ready-file, then run at their rates until \
            --duration passes or SIGINT/SIGTERM arrives, and print what they attempted and how it \
            ended (accepted, refused by code, closed by code). A rate of 0 turns an attack off. The \
            rates bound the attacker's own CPU; it reports that too.
            """
    )

    @Option(help: "Gateway address (loopback only).")
    var host = "127.0.0.1"

    @Option(help: "Gateway port.")
    var port = 8080

    @Option(help: "Most seconds of attack (it ends earlier on SIGINT or SIGTERM).")
    var duration: Double = 600

    @Option(help: "Ghosts per second: connect, join a known room under a fresh name, go.")
    var ghostRate: Double = 50

    @Option(help: "Rooms the ghosts join (made by the attacker).")
    var ghostRooms = 2

    @Option(help: "Join + leave cycles per second on rooms with full histories.")
    var joinCycleRate: Double = 20

    @Option(help: "Rooms with full histories (made and filled by the attacker before the clock starts).")
    var historyRooms = 4

    @Option(help: "Messages of 8,000 bytes sent to each history room first (the broker keeps 256 KiB of them).")
    var historyMessages = 40

    @Option(help: "Members cycling joins, each from its own address.")
    var joinCyclers = 8

    @Option(help: "Engine.IO pings per second, all flood connections together.")
    var pingRate: Double = 400

    @Option(help: "Junk packets per second (unknown events, bad shapes, broken JSON, noops, pongs).")
    var junkRate: Double = 50

    @Option(help: "Connections per flood (pings, junk), each from its own address.")
    var floodConnections = 10

    @Option(help: "Room creations per second, one connection per address.")
    var createRate: Double = 20

    @Option(help: "Source addresses per attack (at most \(AttackAddresses.maximum)).")
    var addresses = AttackAddresses.maximum

    @Option(help: "Event-loop threads of the attacker.")
    var threads = 1

    @Option(help: "Seconds allowed for a connect or an answer.")
    var timeout = 5

    @Option(help: "Write 'ready' to this file once the attacks are prepared and start.")
    var readyFile: String?

    @Option(help: "Also write the report as JSON to this file.")
    var json: String?

    @Flag(help: "No progress lines.")
    var quiet = false

    func validate() throws {
        guard host == "127.0.0.1" || host == "localhost" || host.hasPrefix("127.") else {
            throw ValidationError("--host must be a loopback address (127.0.0.0/8)")
        }
        let rates = [ghostRate, joinCycleRate, pingRate, junkRate, createRate]
        guard rates.allSatisfy({ $0 >= 0 && $0 <= 100_000 }) else {
            throw ValidationError("every rate must be 0...100000 per second")
        }
        guard duration > 0, timeout >= 1 else { throw ValidationError("--duration must be > 0, --timeout ≥ 1") }
        guard (1...AttackAddresses.maximum).contains(addresses) else {
            throw ValidationError("--addresses must be 1...\(AttackAddresses.maximum)")
        }
        guard ghostRooms >= 1, historyRooms >= 1, historyMessages >= 1, joinCyclers >= 1, floodConnections >= 1 else {
            throw ValidationError("rooms, messages, cyclers and connections must be at least 1")
        }
        guard historyRooms * 5 + joinCyclers <= addresses else {
            throw ValidationError(
                "join cycles need 5 addresses per history room plus one per cycler: raise --addresses"
            )
        }
        guard (1...16).contains(threads) else { throw ValidationError("--threads must be 1...16") }
    }

    func run() async throws {
        _ = FileDescriptorLimit.raiseToMaximum()
        let stop = StopFlag()
        stop.setOnSignals()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let context = AttackContext(
            host: host,
            port: port,
            loops: Array(group.makeIterator()),
            tally: AttackTally(),
            stop: stop,
            timeout: .seconds(Int64(timeout)),
            tag: String(UInt32.random(in: 0...UInt32.max), radix: 36),
            log: { text in FileHandle.standardOutput.write(Data("[ChatAttack] \(text)\n".utf8)) }
        )
        let attacks = makeAttacks(context)
        do {
            try await attack(with: attacks, context: context)
        } catch {
            for attack in attacks { await attack.finish() }
            try? await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
    }

    /// The attacks whose rate is above 0.
    private func makeAttacks(_ context: AttackContext) -> [any Attack] {
        func block(_ kind: AttackKind) -> AttackAddresses { AttackAddresses(kind: kind, count: addresses) }
        let all: [any Attack] = [
            GhostAttack(rate: ghostRate, rooms: ghostRooms, addresses: block(.ghosts), context: context),
            JoinCycleAttack(
                rate: joinCycleRate,
                rooms: historyRooms,
                messagesPerRoom: historyMessages,
                cyclers: joinCyclers,
                addresses: block(.joinCycles),
                context: context
            ),
            FloodAttack(
                .pings,
                rate: pingRate,
                connections: floodConnections,
                addresses: block(.pings),
                context: context
            ),
            FloodAttack(
                .junk,
                rate: junkRate,
                connections: floodConnections,
                addresses: block(.junk),
                context: context
            ),
            CreateAttack(rate: createRate, addresses: block(.creates), context: context),
        ]
        return all.filter { $0.rate > 0 }
    }

    /// Prepares every attack, runs them all until stopped, closes them and prints (and writes) the report.
    private func attack(with attacks: [any Attack], context: AttackContext) async throws {
        context.log("preparing \(attacks.map { $0.kind.rawValue }.joined(separator: ", ")) against \(host):\(port)")
        for attack in attacks { try await attack.prepare() }
        if let readyFile { try Data("ready\n".utf8).write(to: URL(fileURLWithPath: readyFile)) }
        context.log(String(format: "attacking for at most %.0f s (until SIGINT/SIGTERM)", duration))
        let start = ContinuousClock.now
        let (stop, duration, quiet) = (context.stop, self.duration, self.quiet)
        let progress = Task {
            if !quiet { await Self.reportProgress(context, attacks: attacks, start: start) }
        }
        await withDiscardingTaskGroup { group in
            group.addTask {
                _ = await stop.wait(seconds: duration)
                stop.set()
            }
            for attack in attacks { group.addTask { await attack.run(in: context) } }
        }
        progress.cancel()
        let elapsed = ContinuousClock.now - start
        context.log("stopping: closing the attack connections")
        for attack in attacks { await attack.finish() }
        let report = AttackReport(
            attacks: attacks,
            tally: context.tally,
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
            cpuSeconds: ProcessCPU.seconds(),
            threads: threads
        )
        FileHandle.standardOutput.write(Data((report.table + "\n").utf8))
        if let json { try report.write(toJSON: json) }
    }

    /// Every 5 s: attempts and refusals so far per attack, and the attacker's CPU.
    private static func reportProgress(
        _ context: AttackContext,
        attacks: [any Attack],
        start: ContinuousClock.Instant
    ) async {
        var lastCPU = ProcessCPU.seconds()
        while !context.stop.isSet {
            guard (try? await Task.sleep(for: .seconds(5))) != nil else { return }
            let counts = context.tally.snapshot()
            let parts = attacks.map { attack in
                let kindCounts = counts[attack.kind] ?? AttackTally.Counts()
                return "\(attack.kind.rawValue) \(kindCounts.attempted) (refused \(kindCounts.refused))"
            }
            let cpu = ProcessCPU.seconds()
            let elapsed = (ContinuousClock.now - start).components.seconds
            context.log(
                "\(elapsed) s: \(parts.joined(separator: ", ")); attacker \(String(format: "%.2f", (cpu - lastCPU) / 5)) cores"
            )
            lastCPU = cpu
        }
    }
}
