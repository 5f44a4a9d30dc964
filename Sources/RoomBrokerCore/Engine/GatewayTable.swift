/// The gateways the broker has heard from, and when it last did.
public struct GatewayTable: Sendable {
    /// One known gateway.
    public struct Entry: Equatable, Sendable {
        /// The name it gave in its hello (its routing id until then).
        public var name: String
        /// When it was last heard from, ms.
        public var lastSeen: UInt64
    }

    /// Known gateways by routing id.
    public private(set) var entries: [String: Entry] = [:]
    /// Silence after which a gateway counts as gone, ms.
    public let timeoutMilliseconds: UInt64

    /// A table declaring gateways gone after `timeoutMilliseconds` of silence.
    public init(timeoutMilliseconds: UInt64) {
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    /// Records that `gateway` spoke at `now`; returns true when it was not known before.
    @discardableResult
    public mutating func touch(_ gateway: String, now: UInt64) -> Bool {
        if entries[gateway] != nil {
            entries[gateway]?.lastSeen = now
            return false
        }
        entries[gateway] = Entry(name: gateway, lastSeen: now)
        return true
    }

    /// Records the name `gateway` gave in its hello.
    public mutating func name(_ gateway: String, _ name: String) {
        entries[gateway]?.name = name
    }

    /// Removes and returns the gateways silent for longer than the timeout.
    public mutating func removeSilent(now: UInt64) -> [String] {
        let silent = entries.filter { now > $0.value.lastSeen && now - $0.value.lastSeen > timeoutMilliseconds }.keys.sorted()
        for gateway in silent { entries[gateway] = nil }
        return silent
    }
}
