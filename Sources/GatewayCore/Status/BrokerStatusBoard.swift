import ChatWire

/// What the brokers last said to this gateway's `status` requests, and when (``MonotonicClock`` ms):
/// plain state, fed by ``GatewayStatus`` from the link's thread and read when a page is built.
///
/// A broker counts as reachable while its last answer is at most ``staleAfterMilliseconds`` old and
/// no failure to reach it came after that answer.
struct BrokerStatusBoard: Sendable {
    /// An answer older than this shows the broker as unreachable, ms.
    static let staleAfterMilliseconds: UInt64 = 3_000

    private struct Entry: Sendable {
        var report: BrokerStatusReport?
        var answeredAt: UInt64?
        var failedAt: UInt64?
        /// The last round this broker answered (or failed) in.
        var round: UInt64 = 0
    }

    private var entries: [Entry]
    /// The number of the last round of requests.
    private(set) var round: UInt64 = 0

    /// A board for `brokers` brokers, none heard yet.
    init(brokers: Int) {
        entries = Array(repeating: Entry(), count: brokers)
    }

    /// A new round of requests goes out; returns its number.
    mutating func startRound() -> UInt64 {
        round += 1
        return round
    }

    /// Broker `broker` answered `report` (or could not be asked: `report` nil) at `now`.
    mutating func record(_ report: BrokerStatusReport?, from broker: Int, now: UInt64) {
        guard entries.indices.contains(broker) else { return }
        if let report {
            entries[broker].report = report
            entries[broker].answeredAt = now
        } else {
            entries[broker].failedAt = now
        }
        entries[broker].round = round
    }

    /// Whether every broker answered or failed in round `round` (or later).
    func isComplete(_ round: UInt64) -> Bool {
        entries.allSatisfy { $0.round >= round }
    }

    /// The brokers at `endpoints` (in the board's order) as seen at `now`.
    func brokers(endpoints: [String], now: UInt64) -> [GatewayStatusReport.Broker] {
        entries.indices.map { index in
            let entry = entries[index]
            let endpoint = endpoints.indices.contains(index) ? endpoints[index] : "broker \(index + 1)"
            let lastHeard = entry.answeredAt.map { now >= $0 ? now - $0 : 0 }
            let state: GatewayStatusReport.Broker.State
            if let report = entry.report, isReachable(entry, now: now) {
                state = .init(report.role)
            } else {
                state = .unreachable
            }
            return GatewayStatusReport.Broker(
                endpoint: endpoint,
                state: state,
                report: entry.report,
                lastHeardMs: lastHeard
            )
        }
    }

    /// The last answer of the reachable broker that serves (active or alone) with the highest term.
    func servingReport(now: UInt64) -> BrokerStatusReport? {
        entries.filter { entry in
            guard let role = entry.report?.role, role == .active || role == .alone else { return false }
            return isReachable(entry, now: now)
        }
        .compactMap(\.report)
        .max { $0.term < $1.term }
    }

    private func isReachable(_ entry: Entry, now: UInt64) -> Bool {
        guard let answeredAt = entry.answeredAt else { return false }
        if let failedAt = entry.failedAt, failedAt > answeredAt { return false }
        return now < answeredAt || now - answeredAt <= Self.staleAfterMilliseconds
    }
}
