/// The gateways the broker knows (registered by `hello`), when each was last heard from, and how its
/// monotonic clock relates to the broker's, for dropping commands that waited past their deadline.
public struct GatewayTable: Sendable, Codable {
    /// One known gateway.
    public struct Entry: Equatable, Sendable, Codable {
        /// The name it gave in its hello.
        public var name: String
        /// When it was last heard from, broker monotonic ms.
        public var lastSeen: UInt64
        /// The smallest `brokerNow − sentAt` seen from it (ms, signed): its clock's origin relative to
        /// ours plus the quickest trip through the queues.
        public var minOffset: Int64?
        /// Commands dropped for waiting past their ttl, in all.
        public var expired: Int = 0
        /// Dropped since the last log line about it.
        var expiredUnlogged: Int = 0
        /// When that line was logged, broker monotonic ms.
        var expiredLoggedAt: UInt64?
        /// When its connection was last seen to close, broker monotonic ms (nil: never).
        public var closedAt: UInt64?

        /// Whether its connection closed and it has not spoken since.
        public var isClosed: Bool { closedAt.map { lastSeen <= $0 } ?? false }
    }

    /// Whether a command may be applied.
    public enum Admission: Equatable, Sendable {
        /// Within its deadline (or without one).
        case fresh
        /// It waited in queues longer than its ttl: drop it without a reply. `report` is the number of
        /// such drops to log now (at most one line per gateway per ``logIntervalMilliseconds``), or nil.
        case expired(report: Int?)
    }

    /// At most one log line per gateway about expired commands in this many ms.
    public static let logIntervalMilliseconds: UInt64 = 10_000

    /// Known gateways by routing id.
    public private(set) var entries: [String: Entry] = [:]
    /// Silence after which a gateway counts as gone, ms.
    public let timeoutMilliseconds: UInt64

    /// A table declaring gateways gone after `timeoutMilliseconds` of silence.
    public init(timeoutMilliseconds: UInt64) {
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    /// Registers `gateway` (its hello) under `name` at `now`; returns false when it was known already.
    /// Its clock relation starts afresh: a hello may come from a new process under the same id.
    @discardableResult
    public mutating func register(_ gateway: String, name: String, now: UInt64) -> Bool {
        let known = entries[gateway] != nil
        entries[gateway] = Entry(name: name, lastSeen: now, minOffset: nil, expired: entries[gateway]?.expired ?? 0)
        return !known
    }

    /// How long `gateway` has been silent at `now`, ms (`UInt64.max` for one not known).
    public func silence(of gateway: String, now: UInt64) -> UInt64 {
        guard let entry = entries[gateway] else { return .max }
        return now >= entry.lastSeen ? now - entry.lastSeen : 0
    }

    /// Whether `gateway` is known.
    public func isKnown(_ gateway: String) -> Bool {
        entries[gateway] != nil
    }

    /// Records that the connection of a known `gateway` closed at `now`; returns false when it is not
    /// known.
    @discardableResult
    public mutating func markClosed(_ gateway: String, now: UInt64) -> Bool {
        guard entries[gateway] != nil else { return false }
        entries[gateway]?.closedAt = now
        return true
    }

    /// Whether `gateway`'s connection closed and it has not spoken since (likely dead).
    public func isClosed(_ gateway: String) -> Bool {
        entries[gateway]?.isClosed ?? false
    }

    /// Records that a known `gateway` spoke at `now`; returns false when it is not known.
    @discardableResult
    public mutating func touch(_ gateway: String, now: UInt64) -> Bool {
        guard entries[gateway] != nil else { return false }
        entries[gateway]?.lastSeen = now
        return true
    }

    /// Relates a command's `sentAt` (the gateway's monotonic ms) to `now` (the broker's) and decides
    /// whether the command, with `ttl` ms (0: none), is still worth applying. The gateway's clock has
    /// another origin, so only differences count: a command whose offset exceeds the least offset seen
    /// from that gateway by more than `ttl` waited that much longer than the quickest one, and the
    /// gateway has stopped waiting for it.
    public mutating func admit(_ gateway: String, sentAt: UInt64, ttl: UInt32, now: UInt64) -> Admission {
        guard var entry = entries[gateway] else { return .fresh }
        let offset = Int64(truncatingIfNeeded: now) &- Int64(truncatingIfNeeded: sentAt)
        let least = min(entry.minOffset ?? offset, offset)
        entry.minOffset = least
        defer { entries[gateway] = entry }
        guard ttl > 0 else { return .fresh }
        let (waited, overflow) = offset.subtractingReportingOverflow(least)
        guard overflow || waited > Int64(ttl) else { return .fresh }
        entry.expired += 1
        entry.expiredUnlogged += 1
        return .expired(report: takeReport(&entry, now: now))
    }

    /// Expired-command counts due for a log line at `now` (gateways whose last line is old enough).
    public mutating func dueExpiryReports(now: UInt64) -> [(gateway: String, count: Int)] {
        var due: [(String, Int)] = []
        for gateway in entries.keys.sorted() {
            guard var entry = entries[gateway], entry.expiredUnlogged > 0 else { continue }
            if let count = takeReport(&entry, now: now) { due.append((gateway, count)) }
            entries[gateway] = entry
        }
        return due
    }

    /// Removes and returns the gateways silent for longer than the timeout.
    public mutating func removeSilent(now: UInt64) -> [String] {
        let silent = entries.filter { now > $0.value.lastSeen && now - $0.value.lastSeen > timeoutMilliseconds }.keys
            .sorted()
        for gateway in silent { entries[gateway] = nil }
        return silent
    }

    private func takeReport(_ entry: inout Entry, now: UInt64) -> Int? {
        if let last = entry.expiredLoggedAt, now >= last, now - last < Self.logIntervalMilliseconds { return nil }
        let count = entry.expiredUnlogged
        entry.expiredUnlogged = 0
        entry.expiredLoggedAt = now
        return count
    }
}
