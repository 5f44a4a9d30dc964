/// Errors thrown while starting or configuring a `GatewayServer`.
public enum GatewayServerError: Error, CustomStringConvertible, Sendable {
    /// A configuration value is out of range; the message names the field and the allowed range.
    case invalidConfiguration(String)
    /// The listening socket could not be bound.
    case bindFailed(host: String, port: Int, underlying: String)
    /// The static directory could not be loaded.
    case staticFiles(StaticFilesError)

    /// A message that says what went wrong and what to do about it.
    public var description: String {
        switch self {
        case .invalidConfiguration(let message):
            return "Invalid gateway configuration: \(message)."
        case .bindFailed(let host, let port, let underlying):
            return "Could not listen on \(host):\(port) (\(underlying)). Check that the address exists on this machine "
                + "and that any process already on the port also sets SO_REUSEPORT, or pick another --port."
        case .staticFiles(let error):
            return error.description
        }
    }
}
