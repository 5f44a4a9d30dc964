import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import SocketIO

/// `ChatBench`: opens many Socket.IO clients against a running gateway, fills rooms, sends
/// timestamped messages at a fixed rate and reports deliveries, loss, order and latency.
@main
struct ChatBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ChatBench",
        abstract: "Load benchmark for the chat gateways: rooms × members, messages at a fixed rate, delivery latency.",
        discussion: """
            Talks to 127.0.0.1 only. Each room is created by its first member, then every member joins; \
            --senders members per room send `message` events at a total of --rate per second for \
            --duration seconds, each text starting with its monotonic send time. Every member receives \
            every message (expected = sent × members). Exit status 2 when anything was lost, refused, \
            reordered or disconnected.
            """)

    @Option(help: "Gateway address (loopback only).")
    var host = "127.0.0.1"

    @Option(help: "Gateway port.")
    var port = 8080

    @Option(help: "Number of rooms.")
    var rooms = 1

    @Option(help: "Members (clients) per room.")
    var members = 200

    @Option(help: "Sending members per room (default: enough for at most 10 msg/s each; the gateway allows 20/s per connection).")
    var senders: Int?

    @Option(help: "Messages per second, all rooms together.")
    var rate: Double = 500

    @Option(help: "Seconds of sending.")
    var duration: Double = 10

    @Option(help: "Length of each message text in bytes (at least 24: the send time and padding).")
    var messageBytes = 64

    @Option(help: "Client event-loop threads (default: number of cores).")
    var threads = System.coreCount

    @Option(help: "Connections and joins in flight at once during setup.")
    var setupConcurrency = 64

    @Option(help: "Seconds allowed for each setup step of one client.")
    var setupTimeout = 15

    @Option(help: "Seconds to wait after the joins for every member's `joined` events before sending anyway.")
    var settleTimeout: Double = 3

    @Option(help: "Seconds to wait after sending for outstanding deliveries and acks.")
    var drainTimeout: Double = 10

    @Option(help: "Name of this scenario in the report.")
    var label = "bench"

    @Option(help: "Also write the summary as JSON to this file.")
    var json: String?

    @Flag(help: "No per-second progress lines.")
    var quiet = false

    /// Senders per room after defaults.
    var sendersPerRoom: Int {
        senders ?? min(members, max(1, Int((rate / Double(rooms) / 10).rounded(.up))))
    }

    func validate() throws {
        guard host == "127.0.0.1" || host == "localhost" || host.hasPrefix("127.") || host == "::1" else {
            throw ValidationError("--host must be a loopback address (127.0.0.0/8 or ::1)")
        }
        guard rooms >= 1, members >= 1 else { throw ValidationError("--rooms and --members must be at least 1") }
        guard rooms * members <= 50_000 else { throw ValidationError("at most 50000 clients (rooms × members)") }
        guard (1...members).contains(sendersPerRoom) else { throw ValidationError("--senders must be 1...members") }
        guard rate > 0, duration > 0, duration <= 600 else { throw ValidationError("--rate must be > 0 and --duration 0...600 s") }
        let perSender = rate / Double(rooms * sendersPerRoom)
        guard perSender <= 18 else {
            throw ValidationError(String(format: "%.1f msg/s per sender is over the gateway's 20/s per connection: raise --senders", perSender))
        }
        guard messageBytes >= 24, messageBytes <= 2000 else { throw ValidationError("--message-bytes must be 24...2000") }
        guard (1...64).contains(threads) else { throw ValidationError("--threads must be 1...64") }
        guard setupConcurrency >= 1 else { throw ValidationError("--setup-concurrency must be at least 1") }
    }

    func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let summary: BenchSummary
        do {
            summary = try await runScenario(group: group)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
        FileHandle.standardOutput.write(Data((summary.table + "\n").utf8))
        if let json {
            try summary.write(toJSON: json)
            log("summary written to \(json)")
        }
        if !summary.ok { throw ExitCode(2) }
    }

    private func log(_ text: String) {
        FileHandle.standardOutput.write(Data("[ChatBench] \(text)\n".utf8))
    }

    private func runScenario(group: MultiThreadedEventLoopGroup) async throws -> BenchSummary {
        let loops = Array(group.makeIterator())
        let stats = loops.map { LoopStats(eventLoop: $0) }
        let clientCount = rooms * members
        let sendersPerRoom = self.sendersPerRoom
        let timeout = TimeAmount.seconds(Int64(setupTimeout))
        let (host, port, members) = (self.host, self.port, self.members)
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)

        log("connecting \(clientCount) clients to \(host):\(port) (\(setupConcurrency) at a time)")
        let connectStart = Date()
        let clients = try await BoundedConcurrency.map(count: clientCount, limit: setupConcurrency) { i in
            try await BenchClient.connect(index: i, host: host, port: port, stats: stats[i % stats.count], timeout: timeout)
        }
        let connectSeconds = Date().timeIntervalSince(connectStart)

        log("creating \(rooms) room(s) and joining \(members) members each")
        let joinStart = Date()
        let roomNames = (0..<rooms).map { "bench-\(tag)-\($0)" }
        let passwords = try await BoundedConcurrency.map(count: rooms, limit: setupConcurrency) { r in
            let argument = "{\"name\":\"creator\",\"room\":\(BenchClient.jsonString(roomNames[r]))}"
            let ack = try await clients[r * members].emitOnLoop("create", argument)
            guard let password = (try? JSONValue.parse(ack))?[0]?["password"]?.stringValue else {
                throw BenchError.protocolError("create \(roomNames[r]) refused: \(ack)")
            }
            return password
        }
        _ = try await BoundedConcurrency.map(count: clientCount, limit: setupConcurrency) { i in
            let room = i / members
            return try await clients[i].joinOnLoop(room: roomNames[room], password: passwords[room], name: "m\(i % members)")
        }
        let expectedMembership = rooms * members * (members - 1) / 2
        let joinSeconds = Date().timeIntervalSince(joinStart)
        try await waitUntil(seconds: settleTimeout, stats: stats) { $0.membershipEvents >= expectedMembership }
        let settled = try await merged(stats)
        let missingJoined = max(0, expectedMembership - settled.membershipEvents)
        log(String(format: "setup done: connect %.2f s, join %.2f s, %d of %d joined events", connectSeconds, joinSeconds, settled.membershipEvents, expectedMembership))
        if missingJoined > 0 {
            log(String(format: "%d joined events had not arrived %.1f s after the last join ack; sending anyway (seq checks catch real loss)", missingJoined, settleTimeout))
        }

        // Senders: the first `sendersPerRoom` members of each room, grouped by their loop.
        let perSender = rate / Double(rooms * sendersPerRoom)
        let padding = String(repeating: "x", count: messageBytes - 21)
        let start = NIODeadline.now().uptimeNanoseconds + 100_000_000
        let end = start + UInt64(duration * 1e9)
        let pacers = loops.enumerated().map { index, loop in
            let mine = clients.filter { $0.index % loops.count == index && $0.index % members < sendersPerRoom }
            return SendPacer(senders: mine, eventLoop: loop, ratePerSecond: perSender * Double(mine.count), start: start, end: end, padding: padding)
        }
        log(String(format: "sending %.0f msg/s for %.0f s from %d senders (%.1f msg/s each)", rate, duration, rooms * sendersPerRoom, perSender))

        let before = settled
        let progress = Task { try await self.reportProgress(stats: stats, start: start, baseline: before) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for pacer in pacers { group.addTask { try await pacer.run() } }
            try await group.waitForAll()
        }
        let sentTotal = try await merged(stats).sent
        try await waitUntil(seconds: drainTimeout, stats: stats) {
            $0.acked + $0.ackErrors >= sentTotal && $0.delivered >= $0.acked * members
        }
        progress.cancel()
        _ = await progress.result
        let final = try await merged(stats)
        await withTaskGroup(of: Void.self) { group in
            for client in clients { group.addTask { await client.closeOnLoop() } }
        }

        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        let cpuSeconds = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        let expected = final.sent * members
        let lost = max(0, expected - final.delivered)
        let activeNanos = final.lastDeliveryNanos > start ? final.lastDeliveryNanos - start : 1
        let latency = final.latency
        let ok = lost == 0 && final.gaps == 0 && final.outOfOrder == 0 && final.ackErrors == 0
            && final.disconnects == 0 && final.acked == final.sent
        return BenchSummary(
            label: label, rooms: rooms, membersPerRoom: members, sendersPerRoom: sendersPerRoom,
            clients: clientCount, targetRate: rate, durationSeconds: duration, messageBytes: messageBytes,
            clientThreads: threads, clientCPUSeconds: cpuSeconds, connectSeconds: connectSeconds, joinSeconds: joinSeconds,
            sent: final.sent, acked: final.acked, ackErrors: final.ackErrors,
            expectedDeliveries: expected, delivered: final.delivered, lost: lost,
            gaps: final.gaps, outOfOrder: final.outOfOrder, disconnects: final.disconnects,
            eventsBeforeJoinAck: final.eventsBeforeJoin, joinedEventsLateAtStart: missingJoined,
            sendRate: Double(final.sent) / duration,
            deliveriesPerSecond: Double(final.delivered) / (Double(activeNanos) / 1e9),
            latencyP50Ms: Double(latency.value(atQuantile: 0.50)) / 1000,
            latencyP90Ms: Double(latency.value(atQuantile: 0.90)) / 1000,
            latencyP99Ms: Double(latency.value(atQuantile: 0.99)) / 1000,
            latencyP999Ms: Double(latency.value(atQuantile: 0.999)) / 1000,
            latencyMaxMs: Double(latency.max) / 1000,
            latencyMeanMs: latency.mean / 1000,
            firstAckError: final.firstAckError, firstCloseReason: final.firstCloseReason,
            firstSeqProblem: final.firstSeqProblem, ok: ok)
    }

    /// All loops' counters added up.
    private func merged(_ stats: [LoopStats]) async throws -> StatsSnapshot {
        var total = StatsSnapshot()
        for loopStats in stats { total.merge(try await loopStats.snapshot()) }
        return total
    }

    /// Polls every 50 ms until `condition` holds or `seconds` pass (then returns anyway).
    /// After sending, refused messages are never delivered, so the drain waits for acked ones only.
    private func waitUntil(seconds: Double, stats: [LoopStats], _ condition: (StatsSnapshot) -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition(try await merged(stats)) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Prints one line a second: elapsed, sent, delivered, current delivery rate and p99 so far.
    private func reportProgress(stats: [LoopStats], start: UInt64, baseline: StatsSnapshot) async throws {
        var previous = baseline.delivered
        var previousSent = baseline.sent
        while true {
            try await Task.sleep(for: .seconds(1))
            let now = try await merged(stats)
            let elapsed = Double(Int64(NIODeadline.now().uptimeNanoseconds) - Int64(start)) / 1e9
            if !quiet {
                log(String(
                    format: "%5.1f s  sent %8d (%6d/s)  delivered %10d (%8d/s)  p99 so far %7.2f ms",
                    elapsed, now.sent, now.sent - previousSent, now.delivered, now.delivered - previous,
                    Double(now.latency.value(atQuantile: 0.99)) / 1000))
            }
            previous = now.delivered
            previousSent = now.sent
        }
    }
}
