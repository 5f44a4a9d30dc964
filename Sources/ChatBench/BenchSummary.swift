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
    /// CPU time (user + system) ChatBench itself used, s: it shares the machine with the servers.
    var clientCPUSeconds: Double
    var connectSeconds: Double
    var joinSeconds: Double
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

    /// The summary as an aligned two-column table.
    var table: String {
        func ms(_ value: Double) -> String { String(format: "%.2f ms", value) }
        func rate(_ value: Double) -> String { String(format: "%.0f/s", value) }
        var rows: [(String, String)] = [
            ("scenario", "\(label): \(rooms) room(s) × \(membersPerRoom) members, \(sendersPerRoom) sender(s)/room"),
            ("target rate", "\(rate(targetRate)) for \(String(format: "%.0f", durationSeconds)) s, \(messageBytes)-byte texts"),
            ("clients", "\(clients) on \(clientThreads) client thread(s); connect \(String(format: "%.2f", connectSeconds)) s, join \(String(format: "%.2f", joinSeconds)) s"),
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
