/// Counters of one event loop's clients (or, merged, of all of them).
struct StatsSnapshot: Sendable, Codable {
    /// `message` events written by senders.
    var sent = 0
    /// Message acks `{seq}` received.
    var acked = 0
    /// Message acks carrying `{error, code}`.
    var ackErrors = 0
    /// `message` events received by members.
    var delivered = 0
    /// `joined` / `left` events received.
    var membershipEvents = 0
    /// Room events skipped (by `seq`) between two received ones.
    var gaps = 0
    /// Room events received with a `seq` not above the previous one.
    var outOfOrder = 0
    /// Room events received before the member's own join ack (checked by `seq` once it arrives).
    var eventsBeforeJoin = 0
    /// Connections closed by the server or the network while the benchmark ran.
    var disconnects = 0
    /// Monotonic time of the last delivery, ns (0: none).
    var lastDeliveryNanos: UInt64 = 0
    /// Delivery latencies (send → receive), µs.
    var latency = LatencyHistogram()
    /// The first error ack, for the report.
    var firstAckError: String?
    /// The first close reason seen, for the report.
    var firstCloseReason: String?
    /// The first `seq` gap or reordering seen, for the report.
    var firstSeqProblem: String?

    /// Adds `other` into this snapshot.
    mutating func merge(_ other: StatsSnapshot) {
        sent += other.sent
        acked += other.acked
        ackErrors += other.ackErrors
        delivered += other.delivered
        membershipEvents += other.membershipEvents
        gaps += other.gaps
        outOfOrder += other.outOfOrder
        eventsBeforeJoin += other.eventsBeforeJoin
        disconnects += other.disconnects
        lastDeliveryNanos = max(lastDeliveryNanos, other.lastDeliveryNanos)
        latency.merge(other.latency)
        firstAckError = firstAckError ?? other.firstAckError
        firstCloseReason = firstCloseReason ?? other.firstCloseReason
        firstSeqProblem = firstSeqProblem ?? other.firstSeqProblem
    }
}
