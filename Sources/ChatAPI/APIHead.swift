/// What an ``APIRoute`` reads from a request head before any body is read.
public struct APIHead: Sendable {
    /// The path's `{name}` segments as sent (not yet validated), by name.
    public var parameters: [String: String]
    /// The query string, without `?`.
    public var query: Substring

    /// A head with `parameters` and `query`.
    public init(parameters: [String: String] = [:], query: some StringProtocol = "") {
        self.parameters = parameters
        self.query = Substring(query)
    }

    /// The path segment named `name` in the route's pattern (empty when the pattern has none).
    public func parameter(_ name: String) -> String {
        parameters[name, default: ""]
    }
}
