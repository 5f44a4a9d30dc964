import Foundation

/// The result of one run, printed as a table and written as JSON by `--json`.
struct BenchSummary: Codable, Sendable {
    var label: String
    var rooms: Int
    var membersPerRoom: Int
    var sendersPerRoom: Int
    var clients: Int
    var targetRate: Double
    var durationSeconds: Double
    var messageBytes: Int
    var clientThreads: Int
    /// Client processes (each holds whole rooms).
    var clientProcesses: Int
    /// Source addresses the clients connected from (0: 127.0.0.1 only).
    var sourceAddresses: Int
    /// CPU time (user + system) ChatBench itself used, s: it shares the machine with the servers.
    var clientCPUSeconds: Double
    var connectSeconds: Double
    var joinSeconds: Double
    /// Clients connected per second while connecting (clients / `connectSeconds`).
    var connectsPerSecond: Double
    /// With `--server-pids`: the servers' summed RSS before any client connected, KiB.
    var serverRSSBeforeKiB: Int?
    /// With `--server-pids`: their RSS with every client connected and idle (after `--idle-seconds`), KiB.
    var serverRSSConnectedKiB: Int?
    /// With `--server-pids`: (connected − before) / clients, bytes.
    var serverRSSPerConnectionBytes: Double?
    var sent: Int
    var acked: Int
    var ackErrors: Int
    var expectedDeliveries: Int
    var delivered: Int
    var lost: Int
    var gaps: Int
    var outOfOrder: Int
    var disconnects: Int
    /// Room events that reached a member before its own join ack (not counted as failures).
    var eventsBeforeJoinAck: Int
    /// `joined` events not yet received `--settle-timeout` s after the joins (not counted as failures).
    var joinedEventsLateAtStart: Int
    var sendRate: Double
    var deliveriesPerSecond: Double
    var latencyP50Ms: Double
    var latencyP90Ms: Double
    var latencyP99Ms: Double
    var latencyP999Ms: Double
    var latencyMaxMs: Double
    var latencyMeanMs: Double
    var firstAckError: String?
    var firstCloseReason: String?
    var firstSeqProblem: String?
    /// True when nothing was lost, refused, reordered or disconnected.
    var ok: Bool

    /// The summary of a run of `scenario` from the merged results of its parts.
    /// `sendStart` is when sending began (monotonic ns), for the delivery rate.
    init(
        scenario: ChatBench,
        processes: Int,
        result: PartResult,
        connectSeconds: Double,
        joinSeconds: Double,
        sendStart: UInt64
    ) {
        let final = result.stats
        let clients = scenario.rooms * scenario.members
        let expected = final.sent * scenario.members
        let lost = max(0, expected - final.delivered)
        let activeNanos = final.lastDeliveryNanos > sendStart ? final.lastDeliveryNanos - sendStart : 1
        let latency = final.latency
        self.label = scenario.label
        self.rooms = scenario.rooms
        self.membersPerRoom = scenario.members
        self.sendersPerRoom = scenario.sendersPerRoom
        self.clients = clients
        self.targetRate = scenario.rate
        self.durationSeconds = scenario.duration
        self.messageBytes = scenario.messageBytes
        self.clientThreads = scenario.threads
        self.clientProcesses = processes
        self.sourceAddresses = scenario.sourceAddresses
        self.clientCPUSeconds = result.cpuSeconds
        self.connectSeconds = connectSeconds
        self.joinSeconds = joinSeconds
        self.connectsPerSecond = connectSeconds > 0 ? Double(clients) / connectSeconds : 0
        self.sent = final.sent
        self.acked = final.acked
        self.ackErrors = final.ackErrors
        self.expectedDeliveries = expected
        self.delivered = final.delivered
        self.lost = lost
        self.gaps = final.gaps
        self.outOfOrder = final.outOfOrder
        self.disconnects = final.disconnects
        self.eventsBeforeJoinAck = final.eventsBeforeJoin
        self.joinedEventsLateAtStart = result.missingJoined
        self.sendRate = Double(final.sent) / scenario.duration
        self.deliveriesPerSecond = Double(final.delivered) / (Double(activeNanos) / 1e9)
        self.latencyP50Ms = Double(latency.value(atQuantile: 0.50)) / 1000
        self.latencyP90Ms = Double(latency.value(atQuantile: 0.90)) / 1000
        self.latencyP99Ms = Double(latency.value(atQuantile: 0.99)) / 1000
        self.latencyP999Ms = Double(latency.value(atQuantile: 0.999)) / 1000
        self.latencyMaxMs = Double(latency.max) / 1000
        self.latencyMeanMs = latency.mean / 1000
        self.firstAckError = final.firstAckError
        self.firstCloseReason = final.firstCloseReason
        self.firstSeqProblem = final.firstSeqProblem
        self.ok =
            lost == 0 && final.gaps == 0 && final.outOfOrder == 0 && final.ackErrors == 0
            && final.disconnects == 0 && final.acked == final.sent
    }

    /// The summary as an aligned two-column table.
    var table: String {
        func ms(_ value: Double) -> String { String(format: "%.2f ms", value) }
        func rate(_ value: Double) -> String { String(format: "%.0f/s", value) }
        var rows: [(String, String)] = [
            ("scenario", "\(label): \(rooms) room(s) × \(membersPerRoom) members, \(sendersPerRoom) sender(s)/room"),
            (
                "target rate",
                "\(rate(targetRate)) for \(String(format: "%.0f", durationSeconds)) s, \(messageBytes)-byte texts"
            ),
            (
                "clients",
                "\(clients) on \(clientProcesses) process(es) × \(clientThreads) thread(s); connect \(String(format: "%.2f", connectSeconds)) s (\(rate(connectsPerSecond))), join \(String(format: "%.2f", joinSeconds)) s"
            ),
            ("ChatBench CPU", String(format: "%.1f s (user + system, whole run)", clientCPUSeconds)),
            ("sent / acked", "\(sent) / \(acked) (\(ackErrors) refused)"),
            ("send rate", rate(sendRate)),
            ("deliveries", "\(delivered) of \(expectedDeliveries) expected"),
            ("lost / gaps / out of order", "\(lost) / \(gaps) / \(outOfOrder)"),
            ("disconnects", "\(disconnects)"),
            ("events before join ack", "\(eventsBeforeJoinAck)"),
            ("joined events late", "\(joinedEventsLateAtStart) (missing when sending began)"),
            ("deliveries/s", rate(deliveriesPerSecond)),
            ("latency p50 / p90", "\(ms(latencyP50Ms)) / \(ms(latencyP90Ms))"),
            ("latency p99 / p99.9", "\(ms(latencyP99Ms)) / \(ms(latencyP999Ms))"),
            ("latency max / mean", "\(ms(latencyMaxMs)) / \(ms(latencyMeanMs))"),
            ("result", ok ? "OK" : "FAILED"),
        ]
        if let serverRSSBeforeKiB, let serverRSSConnectedKiB, let serverRSSPerConnectionBytes {
            rows.insert(
                (
                    "servers' RSS",
                    String(
                        format: "%.1f → %.1f MiB with %d idle connections: %.1f KiB per connection",
                        Double(serverRSSBeforeKiB) / 1024,
                        Double(serverRSSConnectedKiB) / 1024,
                        clients,
                        serverRSSPerConnectionBytes / 1024
                    )
                ),
                at: 3
            )
        }
        if let firstAckError { rows.append(("first refusal", firstAckError)) }
        if let firstCloseReason { rows.append(("first close reason", firstCloseReason)) }
        if let firstSeqProblem { rows.append(("first seq problem", firstSeqProblem)) }
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + " │ " + $0.1 }
            .joined(separator: "\n")
    }

    /// Writes the summary as pretty JSON to `path`.
    func write(toJSON path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path))
    }
}
