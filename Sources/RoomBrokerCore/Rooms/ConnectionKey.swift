/// One client connection anywhere: its gateway and the gateway-local connection id.
public struct ConnectionKey: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The gateway's routing id.
    public var gateway: String
    /// The connection id on that gateway.
    public var connectionID: UInt64

    /// The connection `connectionID` of `gateway`.
    public init(gateway: String, connectionID: UInt64) {
        self.gateway = gateway
        self.connectionID = connectionID
    }

    public var description: String { "\(gateway)/\(connectionID)" }
}
