/// How a broker serves, as its `status` reply and its metrics say.
public enum BrokerRole: String, Sendable, Codable, CaseIterable {
    /// A broker without a pair: always active.
    case alone
    /// The active broker of a pair: it serves the gateways.
    case active
    /// The standby of a pair (or an active that is stopping): it answers commands `not_active`.
    case standby
    /// A broker of a pair that has not heard its peer yet (primary or backup): it serves nobody yet.
    case starting
}
