import ChatLoad
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import SocketIO

/// One process's share of a run: the clients of a range of rooms, taken phase by phase from
/// connecting to the final counters. The phases are called in order, one at a time.
final class ScenarioPart: @unchecked Sendable {
    /// What the part does.
    struct Plan: Sendable {
        var host: String
        var port: Int
        /// The rooms of this part, as indices among all rooms of the run.
        var rooms: Range<Int>
        var members: Int
        var sendersPerRoom: Int
        /// Messages per second of each sender.
        var perSenderRate: Double
        var messageBytes: Int
        var setupConcurrency: Int
        var setupTimeout: Int
        var settleTimeout: Double
        var drainTimeout: Double
        var sourceAddresses: SourceAddresses
        /// TLS for every connection (wss://), or nil for plain WebSocket.
        var tls: NIOSSLContext?
        var quiet: Bool
    }

    private let plan: Plan
    private let loops: [any EventLoop]
    private let stats: [LoopStats]
    private let log: @Sendable (String) -> Void
    private var clients: [BenchClient] = []
    private var settled = StatsSnapshot()
    private var missingJoined = 0

    /// The number of clients of this part.
    var clientCount: Int { plan.rooms.count * plan.members }

    init(plan: Plan, group: MultiThreadedEventLoopGroup, log: @escaping @Sendable (String) -> Void) {
        self.plan = plan
        self.loops = Array(group.makeIterator())
        self.stats = loops.map { LoopStats(eventLoop: $0) }
        self.log = log
    }

    /// Opens every client of the part (WebSocket, Engine.IO open, Socket.IO connect); returns the seconds it took.
    func connect() async throws -> Double {
        let start = ContinuousClock.now
        let (plan, stats) = (self.plan, self.stats)
        let timeout = TimeAmount.seconds(Int64(plan.setupTimeout))
        let first = plan.rooms.lowerBound * plan.members
        log(
            "connecting \(clientCount) clients to \(plan.host):\(plan.port) (\(plan.setupConcurrency) at a time, \(plan.sourceAddresses))"
        )
        clients = try await BoundedConcurrency.map(count: clientCount, limit: plan.setupConcurrency) { i in
            try await BenchClient.connect(
                index: first + i,
                host: plan.host,
                port: plan.port,
                source: plan.sourceAddresses.address(for: first + i),
                tls: plan.tls,
                stats: stats[Self.loopIndex(ofClient: i, members: plan.members, loops: stats.count)],
                timeout: timeout
            )
        }
        return Self.seconds(since: start)
    }

    /// Creates the part's rooms, joins every member and waits (at most `settleTimeout`) for the
    /// `joined` events. Returns the seconds the joins took and how many `joined` events were still missing.
    func join() async throws -> (seconds: Double, missingJoined: Int) {
        let start = ContinuousClock.now
        let (clients, members) = (self.clients, plan.members)
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let roomNames = plan.rooms.map { "bench-\(tag)-\($0)" }
        log("creating \(roomNames.count) room(s) and joining \(members) members each")
        let passwords = try await BoundedConcurrency.map(count: roomNames.count, limit: plan.setupConcurrency) { r in
            let argument = "{\"name\":\"creator\",\"room\":\(BenchClient.jsonString(roomNames[r]))}"
            let ack = try await clients[r * members].emitOnLoop("create", argument)
            guard let password = (try? JSONValue.parse(ack))?[0]?["password"]?.stringValue else {
                throw BenchError.protocolError("create \(roomNames[r]) refused: \(ack)")
            }
            return password
        }
        _ = try await BoundedConcurrency.map(count: clients.count, limit: plan.setupConcurrency) { i in
            let room = i / members
            return try await clients[i].joinOnLoop(
                room: roomNames[room],
                password: passwords[room],
                name: "m\(i % members)"
            )
        }
        let joinSeconds = Self.seconds(since: start)
        let expected = roomNames.count * members * (members - 1) / 2
        try await waitUntil(seconds: plan.settleTimeout) { $0.membershipEvents >= expected }
        settled = try await merged()
        missingJoined = max(0, expected - settled.membershipEvents)
        log(String(format: "joined in %.2f s, %d of %d joined events", joinSeconds, settled.membershipEvents, expected))
        if missingJoined > 0 {
            log(
                String(
                    format:
                        "%d joined events had not arrived %.1f s after the last join ack; sending anyway (seq checks catch real loss)",
                    missingJoined,
                    plan.settleTimeout
                )
            )
        }
        return (joinSeconds, missingJoined)
    }

    /// Sends from `start` until `end` (monotonic ns, `NIODeadline` uptime), then waits (at most
    /// `drainTimeout`) for the outstanding acks and deliveries.
    func send(start: UInt64, end: UInt64) async throws {
        let (plan, loops) = (self.plan, self.loops)
        let padding = String(repeating: "x", count: plan.messageBytes - 21)
        // Senders: the first `sendersPerRoom` members of each room, grouped by their loop.
        let pacers = loops.enumerated().map { index, loop in
            let mine = clients.enumerated()
                .filter {
                    Self.loopIndex(ofClient: $0.offset, members: plan.members, loops: loops.count) == index
                        && $0.element.index % plan.members < plan.sendersPerRoom
                }
                .map(\.element)
            return SendPacer(
                senders: mine,
                eventLoop: loop,
                ratePerSecond: plan.perSenderRate * Double(mine.count),
                start: start,
                end: end,
                padding: padding
            )
        }
        let baseline = settled
        let progress = Task { try await self.reportProgress(start: start, baseline: baseline) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for pacer in pacers { group.addTask { try await pacer.run() } }
            try await group.waitForAll()
        }
        let sentTotal = try await merged().sent
        let members = plan.members
        try await waitUntil(seconds: plan.drainTimeout) {
            $0.acked + $0.ackErrors >= sentTotal && $0.delivered >= $0.acked * members
        }
        progress.cancel()
        _ = await progress.result
    }

    /// Closes every client and returns the part's counters and the CPU time this process used.
    func finish() async throws -> PartResult {
        let final = try await merged()
        await withTaskGroup(of: Void.self) { group in
            for client in clients { group.addTask { await client.closeOnLoop() } }
        }
        clients = []
        return PartResult(stats: final, missingJoined: missingJoined, cpuSeconds: ProcessCPU.seconds())
    }

    // MARK: Helpers

    /// The loop of the part's client `index`: round robin, shifted by one per room so that the
    /// rooms' senders (their first members) spread over the loops whatever the room size.
    static func loopIndex(ofClient index: Int, members: Int, loops: Int) -> Int {
        (index + index / members) % loops
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// All loops' counters added up.
    private func merged() async throws -> StatsSnapshot {
        var total = StatsSnapshot()
        for loopStats in stats { total.merge(try await loopStats.snapshot()) }
        return total
    }

    /// Polls every 50 ms until `condition` holds or `seconds` pass (then returns anyway).
    /// After sending, refused messages are never delivered, so the drain waits for acked ones only.
    private func waitUntil(seconds: Double, _ condition: (StatsSnapshot) -> Bool) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while ContinuousClock.now < deadline {
            if condition(try await merged()) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Prints one line a second: elapsed, sent, delivered, current delivery rate and p99 so far.
    private func reportProgress(start: UInt64, baseline: StatsSnapshot) async throws {
        var previous = baseline.delivered
        var previousSent = baseline.sent
        while true {
            try await Task.sleep(for: .seconds(1))
            let now = try await merged()
            let elapsed = Double(Int64(NIODeadline.now().uptimeNanoseconds) - Int64(start)) / 1e9
            if !plan.quiet {
                log(
                    String(
                        format: "%5.1f s  sent %8d (%6d/s)  delivered %10d (%8d/s)  p99 so far %7.2f ms",
                        elapsed,
                        now.sent,
                        now.sent - previousSent,
                        now.delivered,
                        now.delivered - previous,
                        Double(now.latency.value(atQuantile: 0.99)) / 1000
                    )
                )
            }
            previous = now.delivered
            previousSent = now.sent
        }
    }
}
