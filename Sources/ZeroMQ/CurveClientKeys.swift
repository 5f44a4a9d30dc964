import CZMQ

/// The keys a CURVE client uses towards one or more servers: its own pair, and the public key it pins
/// for each server (one for all of them, or one per server in order).
public struct CurveClientKeys: Sendable, Equatable {
    /// This client's key pair (its public key must be in each server's allow-list).
    public var keyPair: CurveKeyPair
    /// The servers' public keys: one for every server, or one per server in the order they are given.
    public var serverKeys: [CurvePublicKey]

    /// Keys for a client with `keyPair` that pins `serverKeys` (at least one).
    public init(keyPair: CurveKeyPair, serverKeys: [CurvePublicKey]) {
        self.keyPair = keyPair
        self.serverKeys = serverKeys
    }

    /// The key pinned for server number `index`: the only key, or the index-th one; nil when there is
    /// no key for it (a wrong count, which the executables refuse when they parse their options).
    public func serverKey(forServer index: Int) -> CurvePublicKey? {
        if serverKeys.count == 1 { return serverKeys[0] }
        return serverKeys.indices.contains(index) ? serverKeys[index] : nil
    }

    /// The socket option that makes a socket to server number `index` a CURVE client pinning its key.
    public func option(forServer index: Int) throws(ZMQError) -> ZMQSocketOption {
        guard let key = serverKey(forServer: index) else {
            throw ZMQError.failed(
                operation: "curve",
                errno: EINVAL,
                message:
                    "no public key pinned for server \(index + 1) of \(serverKeys.count): give one key for all servers or one per server"
            )
        }
        return .curveClient(keyPair, serverKey: key)
    }
}
