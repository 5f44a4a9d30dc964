/// Where one room broker listens: its ROUTER (commands) and XPUB (broadcasts) endpoints.
public struct BrokerEndpoints: Sendable, Equatable {
    /// The broker's ROUTER endpoint.
    public var commands: String
    /// The broker's XPUB endpoint.
    public var broadcasts: String

    /// The broker at `commands`/`broadcasts`.
    public init(commands: String, broadcasts: String) {
        self.commands = commands
        self.broadcasts = broadcasts
    }
}
