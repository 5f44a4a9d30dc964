/// Why ``EndpointPolicy`` refuses an endpoint at start.
public enum EndpointRefusal: Error, Equatable, Sendable {
    /// Plain tcp:// to a host that is not a loopback address.
    case needsKeys(endpoint: String)
    /// Plain tcp:// to a loopback address without `--insecure-loopback`.
    case needsKeysOrInsecureLoopback(endpoint: String)
    /// A transport other than tcp://, ipc:// and inproc:// (or no transport at all).
    case unsupportedTransport(endpoint: String)

    /// What to do, naming the options that give this executable its keys (e.g.
    /// "--curve-secret-key and --authorized-keys").
    public func message(keyFlags: String) -> String {
        switch self {
        case .needsKeys(let endpoint):
            return
                "\(endpoint) is plain tcp:// to a host that is not loopback: anyone on the network could read and forge its messages. "
                + "Pass \(keyFlags) (scripts/keys makes the key files), or use ipc:// on one machine"
        case .needsKeysOrInsecureLoopback(let endpoint):
            return
                "\(endpoint) is plain tcp:// without CURVE keys: pass \(keyFlags) (scripts/keys makes the key files), "
                + "use ipc:// (its file permissions protect it), or add --insecure-loopback to allow plain tcp:// on this machine's loopback"
        case .unsupportedTransport(let endpoint):
            return "\(endpoint) is not a tcp://, ipc:// or inproc:// endpoint"
        }
    }
}
