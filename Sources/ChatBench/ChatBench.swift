import ArgumentParser
import ChatLoad
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import ProcessLimits
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
            """
    )

    @Option(help: "Gateway address (loopback only).")
    var host = "127.0.0.1"

    @Option(help: "Gateway port.")
    var port = 8080

    @Option(help: "Number of rooms.")
    var rooms = 1

    @Option(help: "Members (clients) per room.")
    var members = 200

    @Option(
        help:
            "Sending members per room (default: enough for at most 10 msg/s each; the gateway allows 20/s per connection)."
    )
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

    @Flag(
        help:
            "Connect over TLS (wss://), as to a gateway started with --tls-cert/--tls-key; the server's certificate is not verified (a benchmark on this machine)."
    )
    var tls = false

    @Flag(help: "No per-second progress lines.")
    var quiet = false

    @Option(
        help:
            "Connect from this many source addresses, round robin: 127.0.0.2, 127.0.0.3, … (0: 127.0.0.1 only). Each reaches the gateway port through ~28,000 ephemeral ports at most."
    )
    var sourceAddresses = 0

    @Option(help: "Client processes (default: as few as the file-descriptor limit allows; each takes whole rooms).")
    var processes: Int?

    @Option(help: "Seconds to hold all clients connected and idle before the rooms are created.")
    var idleSeconds: Double = 0

    @Option(
        help: "Write '<clients> <connect seconds>' to this file once every client is connected (before the idle hold)."
    )
    var readyFile: String?

    @Option(
        help:
            "Comma-separated pids of the servers (gateways): report their RSS before connecting and after the idle hold, and the RSS per connection."
    )
    var serverPids: String?

    @Option(help: .hidden)
    var part: Int?

    @Option(help: .hidden)
    var parts: Int?

    /// Senders per room after defaults.
    var sendersPerRoom: Int {
        senders ?? min(members, max(1, Int((rate / Double(rooms) / 10).rounded(.up))))
    }

    func validate() throws {
        guard host == "127.0.0.1" || host == "localhost" || host.hasPrefix("127.") || host == "::1" else {
            throw ValidationError("--host must be a loopback address (127.0.0.0/8 or ::1)")
        }
        guard rooms >= 1, members >= 1 else { throw ValidationError("--rooms and --members must be at least 1") }
        guard rooms * members <= Self.maxClients else {
            throw ValidationError("at most \(Self.maxClients) clients (rooms × members)")
        }
        guard (1...members).contains(sendersPerRoom) else { throw ValidationError("--senders must be 1...members") }
        guard rate > 0, duration > 0, duration <= 600 else {
            throw ValidationError("--rate must be > 0 and --duration 0...600 s")
        }
        let perSender = rate / Double(rooms * sendersPerRoom)
        guard perSender <= 18 else {
            throw ValidationError(
                String(
                    format: "%.1f msg/s per sender is over the gateway's 20/s per connection: raise --senders",
                    perSender
                )
            )
        }
        guard messageBytes >= 24, messageBytes <= 2000 else {
            throw ValidationError("--message-bytes must be 24...2000")
        }
        guard (1...64).contains(threads) else { throw ValidationError("--threads must be 1...64") }
        guard setupConcurrency >= 1 else { throw ValidationError("--setup-concurrency must be at least 1") }
        guard (0...SourceAddresses.maximum).contains(sourceAddresses) else {
            throw ValidationError("--source-addresses must be 0...\(SourceAddresses.maximum)")
        }
        let capacity = SourceAddresses(count: sourceAddresses).connectionCapacity
        guard rooms * members <= capacity else {
            throw ValidationError(
                "\(rooms * members) clients need more than the \(capacity) ephemeral ports of \(max(1, sourceAddresses)) source address(es): raise --source-addresses"
            )
        }
        guard processes.map({ (1...Self.maxProcesses).contains($0) }) ?? true else {
            throw ValidationError("--processes must be 1...\(Self.maxProcesses)")
        }
        guard idleSeconds >= 0, idleSeconds <= 3600 else { throw ValidationError("--idle-seconds must be 0...3600") }
        _ = try serverMemory()
        if let part, let parts {
            guard (0..<parts).contains(part), parts <= rooms else { throw ValidationError("bad --part/--parts") }
        }
    }

    /// Most clients of one run.
    static let maxClients = 200_000
    /// Most client processes of one run.
    static let maxProcesses = 64
    /// File descriptors each process keeps for itself (event loops, pipes, stdio) besides its connections.
    static let reservedDescriptors = 64

    /// The servers named by `--server-pids`, or `nil`.
    func serverMemory() throws -> ServerMemory? {
        guard let serverPids else { return nil }
        let pids = serverPids.split(separator: ",").map { Int32($0.trimmingCharacters(in: .whitespaces)) }
        guard !pids.isEmpty, pids.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw ValidationError("--server-pids must be a comma-separated list of process ids")
        }
        return ServerMemory(pids: pids.compactMap { $0 })
    }

    func run() async throws {
        let limit = FileDescriptorLimit.raiseToMaximum()
        if let part, let parts {
            try await runWorker(part: part, of: parts)
            return
        }
        let clientCount = rooms * members
        let perProcess = max(1, Int(limit?.current ?? 1024) - Self.reservedDescriptors)
        let processCount = processes ?? min(rooms, (clientCount + perProcess - 1) / perProcess)
        guard processCount <= rooms else {
            throw BenchError.badOptions(
                "\(processCount) processes need at least as many rooms (each process takes whole rooms)"
            )
        }
        let largestPart = (rooms + processCount - 1) / processCount * members
        guard largestPart <= perProcess else {
            throw BenchError.badOptions(
                "\(largestPart) connections in one process are over its file-descriptor limit (\(limit?.description ?? "unknown")): raise --processes"
            )
        }
        let summary = try await coordinate(processCount: processCount)
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

    /// The rooms of part `index` of `count`: contiguous, as even as can be.
    func rooms(ofPart index: Int, of count: Int) -> Range<Int> {
        (index * rooms / count)..<((index + 1) * rooms / count)
    }

    private func plan(rooms partRooms: Range<Int>) throws -> ScenarioPart.Plan {
        var tlsContext: NIOSSLContext?
        if tls {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .none
            tlsContext = try NIOSSLContext(configuration: configuration)
        }
        return ScenarioPart.Plan(
            host: host,
            port: port,
            rooms: partRooms,
            members: members,
            sendersPerRoom: sendersPerRoom,
            perSenderRate: rate / Double(rooms * sendersPerRoom),
            messageBytes: messageBytes,
            setupConcurrency: setupConcurrency,
            setupTimeout: setupTimeout,
            settleTimeout: settleTimeout,
            drainTimeout: drainTimeout,
            sourceAddresses: SourceAddresses(count: sourceAddresses),
            tls: tlsContext,
            quiet: quiet
        )
    }

    /// Runs the scenario in this process (one part) or in `processCount` worker processes, phase by
    /// phase: connect all, (ready file, idle hold, RSS), join all, send from one common start time.
    private func coordinate(processCount: Int) async throws -> BenchSummary {
        let memory = try serverMemory()
        let rssBefore = try memory?.residentKiB()
        let clientCount = rooms * members
        let connectStart = ContinuousClock.now
        let results: [PartResult]
        let connectSeconds: Double
        var joinSeconds = 0.0
        var rssConnected: Int?
        var sendStart: UInt64 = 0
        if processCount == 1 {
            let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
            do {
                let part = ScenarioPart(plan: try plan(rooms: 0..<rooms), group: group) { text in
                    FileHandle.standardOutput.write(Data("[ChatBench] \(text)\n".utf8))
                }
                _ = try await part.connect()
                connectSeconds = ScenarioPart.seconds(since: connectStart)
                rssConnected = try await allConnected(clientCount, seconds: connectSeconds, memory: memory)
                joinSeconds = try await part.join().seconds
                let (start, end) = sendingWindow()
                sendStart = start
                try await part.send(start: start, end: end)
                results = [try await part.finish()]
            } catch {
                try? await group.shutdownGracefully()
                throw error
            }
            try await group.shutdownGracefully()
        } else {
            log("running \(clientCount) clients in \(processCount) processes (each takes whole rooms)")
            let workers = try WorkerProcesses(count: processCount, arguments: Array(CommandLine.arguments.dropFirst()))
            do {
                _ = try await workers.next(.connected)
                connectSeconds = ScenarioPart.seconds(since: connectStart)
                rssConnected = try await allConnected(clientCount, seconds: connectSeconds, memory: memory)
                let joinStart = ContinuousClock.now
                workers.sendAll(.join)
                _ = try await workers.next(.joined)
                joinSeconds = ScenarioPart.seconds(since: joinStart)
                let (start, end) = sendingWindow()
                sendStart = start
                workers.sendAll(.send(start: start, end: end))
                results = try await workers.next(.result).compactMap { message in
                    if case .result(let result) = message { return result }
                    return nil
                }
                await workers.waitForExit()
            } catch {
                workers.terminate()
                throw error
            }
        }
        var total = PartResult.merged(results)
        if processCount > 1 { total.cpuSeconds += ProcessCPU.seconds() }
        var summary = BenchSummary(
            scenario: self,
            processes: processCount,
            result: total,
            connectSeconds: connectSeconds,
            joinSeconds: joinSeconds,
            sendStart: sendStart
        )
        if let rssBefore, let rssConnected {
            summary.serverRSSBeforeKiB = rssBefore
            summary.serverRSSConnectedKiB = rssConnected
            summary.serverRSSPerConnectionBytes = Double(rssConnected - rssBefore) * 1024 / Double(clientCount)
        }
        return summary
    }

    /// Every client is connected: writes the ready file, holds `--idle-seconds`, then reads the servers' RSS.
    private func allConnected(_ clientCount: Int, seconds: Double, memory: ServerMemory?) async throws -> Int? {
        log(
            String(
                format: "all %d clients connected in %.2f s (%.0f/s)",
                clientCount,
                seconds,
                Double(clientCount) / seconds
            )
        )
        if let readyFile {
            try Data(String(format: "%d %.3f\n", clientCount, seconds).utf8).write(to: URL(fileURLWithPath: readyFile))
        }
        if idleSeconds > 0 {
            log(String(format: "holding them idle for %.0f s", idleSeconds))
            try await Task.sleep(for: .milliseconds(Int64(idleSeconds * 1000)))
        }
        guard let memory else { return nil }
        let kib = try memory.residentKiB()
        log("servers' RSS with \(clientCount) idle connections: \(kib / 1024) MiB")
        return kib
    }

    /// Sending starts a moment from now (every process reads the same monotonic clock) and lasts `--duration`.
    private func sendingWindow() -> (start: UInt64, end: UInt64) {
        let start = NIODeadline.now().uptimeNanoseconds + 200_000_000
        log(String(format: "sending %.0f msg/s for %.0f s from %d senders", rate, duration, rooms * sendersPerRoom))
        return (start, start + UInt64(duration * 1e9))
    }

    /// A worker process: part `index` of `count`, driven over stdin/stdout by the coordinating process.
    private func runWorker(part index: Int, of count: Int) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        do {
            try await runWorker(part: index, of: count, group: group)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
    }

    private func runWorker(part index: Int, of count: Int, group: MultiThreadedEventLoopGroup) async throws {
        let prefix = "[ChatBench \(index + 1)/\(count)] "
        let part = ScenarioPart(plan: try plan(rooms: rooms(ofPart: index, of: count)), group: group) { text in
            FileHandle.standardError.write(Data((prefix + text + "\n").utf8))
        }
        var commands = LineReader.lines(of: 0).makeAsyncIterator()
        func reply(_ message: WorkerMessage) {
            FileHandle.standardOutput.write(Data((message.line + "\n").utf8))
        }
        func expect(_ kind: WorkerMessage.Kind) async throws -> WorkerMessage {
            guard let line = await commands.next(), let message = WorkerMessage(line: line), message.kind == kind else {
                throw BenchError.protocolError("worker \(index): expected \(kind) from the coordinating process")
            }
            return message
        }
        _ = try await part.connect()
        reply(.connected)
        _ = try await expect(.join)
        reply(.joined(missing: try await part.join().missingJoined))
        guard case .send(let start, let end) = try await expect(.send) else { return }
        try await part.send(start: start, end: end)
        reply(.result(try await part.finish()))
    }
}
