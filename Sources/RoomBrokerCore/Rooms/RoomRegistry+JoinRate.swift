import ChatWire

/// The per-address budget of the commands whose answer costs the broker most: joins (their ack carries
/// the room's members and history), resumes and creates, one token bucket per client address key shared
/// by all its connections on every gateway (``RoomRegistryConfiguration/joinBurstPerClient``).
extension RoomRegistry {
    /// Takes a token from `client`'s bucket for a join, resume or create at `now`, or refuses with
    /// `rate_limited` saying when to try again. Commands without an address key (the broker's own tools
    /// and tests) are not counted.
    mutating func chargeJoin(client: String, now: BrokerClock) throws(ChatError) {
        guard !client.isEmpty else { return }
        if joinsByClient == nil {
            // A state from a build without the limit: every bucket starts full.
            joinsByClient = TokenBuckets(
                burst: configuration.joinBurstPerClient,
                perSecond: configuration.joinsPerClientPerSecond
            )
        }
        guard joinsByClient?.take(client, now: now.monotonic) == false else { return }
        let wait = joinsByClient?.retryAfter(client, now: now.monotonic) ?? 0
        throw ChatError(
            .rateLimited,
            "too many joins from your address (\(configuration.joinBurstPerClient) at once, then \(configuration.joinsPerClientPerSecond) a second); wait \(Self.seconds(wait)) s and try again",
            limit: .joinsPerAddress
        )
    }
}
