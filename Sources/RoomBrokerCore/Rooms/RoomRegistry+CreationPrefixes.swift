import ChatWire

/// Room creation counted beyond one address key: per wider prefix (an IPv6 /56 with 4 ×, an IPv6 /48
/// or an IPv4 /24 with 16 × the per-address window budget) and over all clients (a token bucket of
/// ``RoomRegistryConfiguration/createsPerSecond``), so many addresses of one network cannot create
/// rooms as fast as that many subscribers, and no crowd of them can churn the broker's rooms.
extension RoomRegistry {
    /// The key of the broker-wide creation bucket.
    static let allCreationsKey = "all"

    /// Refuses a creation by `client` over its prefixes' budgets or the broker-wide rate (nothing is
    /// counted here: ``recordCreation(client:now:)`` does once the room is made).
    mutating func checkCreationBeyondAddress(client: String, now: BrokerClock) throws(ChatError) {
        if createsInAll == nil {
            // A state from a build without the limit: the bucket starts full.
            createsInAll = TokenBuckets(
                burst: configuration.createsPerSecond * 10,
                perSecond: configuration.createsPerSecond
            )
        }
        if let all = createsInAll, all.retryAfter(Self.allCreationsKey, now: now.monotonic) > 0 {
            let wait = Self.seconds(all.retryAfter(Self.allCreationsKey, now: now.monotonic))
            throw ChatError(
                .rateLimited,
                "the server is creating rooms as fast as it allows (\(configuration.createsPerSecond) a second); wait \(wait) s and try again",
                limit: .createsInAll
            )
        }
        for (scope, key) in Self.creationPrefixKeys(of: client) {
            let limiter = creationLimiter(scope)
            guard limiter.isBlocked(key, now: now.monotonic) else { continue }
            let wait = Self.seconds(limiter.retryAfter(key, now: now.monotonic))
            throw ChatError(
                .rateLimited,
                "too many rooms created from your network (\(key)); wait \(wait) s and try again",
                limit: .createsPerNetwork
            )
        }
    }

    /// Counts a room created by `client` at `now` against its prefixes and the broker-wide rate.
    mutating func recordCreation(client: String, now: BrokerClock) {
        _ = createsInAll?.take(Self.allCreationsKey, now: now.monotonic)
        for (scope, key) in Self.creationPrefixKeys(of: client) {
            var limiter = creationLimiter(scope)
            limiter.record(key, now: now.monotonic)
            if scope == .network { createsByNetwork = limiter } else { createsBySite = limiter }
        }
    }

    /// The prefixes room creation counts `client` under (none for an empty or unreadable key).
    static func creationPrefixKeys(of client: String) -> [(scope: AddressScope, key: String)] {
        ClientAddress(rateLimitKey: client)?.creationPrefixKeys ?? []
    }

    /// The limiter of `scope`'s prefixes (a state from a build without them: empty).
    private func creationLimiter(_ scope: AddressScope) -> AttemptLimiter {
        let stored = scope == .network ? createsByNetwork : createsBySite
        return stored
            ?? AttemptLimiter(
                limit: configuration.createsPerClient * scope.budgetMultiplier,
                windowMilliseconds: configuration.limitWindowMilliseconds
            )
    }

    /// Keys the creation limits beyond one address hold now.
    var creationPrefixKeyCount: Int {
        (createsBySite?.keyCount ?? 0) + (createsByNetwork?.keyCount ?? 0) + (createsInAll?.trackedKeys ?? 0)
    }

    /// Forgets idle keys of the creation limits beyond one address.
    mutating func purgeCreationPrefixes(now: BrokerClock) {
        createsBySite?.purge(now: now.monotonic)
        createsByNetwork?.purge(now: now.monotonic)
        createsInAll?.purge(now: now.monotonic)
    }
}
