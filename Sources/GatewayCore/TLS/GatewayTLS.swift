import Foundation
import NIOSSL
import Synchronization

/// The gateway's TLS: the files of `--tls-cert` and `--tls-key` and the ``GatewayTLSIdentity`` read
/// from them. A `GatewayServer` given one serves `https://` and `wss://` (TLS 1.2 or 1.3, HTTP/1.1) on
/// its port, and nothing in clear. ``reload()`` reads the files again: new connections get the new
/// certificate, open ones keep theirs; a reload that fails keeps the current identity.
public final class GatewayTLS: Sendable {
    /// The certificate chain file (`--tls-cert`).
    public let certificatePath: String
    /// The private key file (`--tls-key`).
    public let keyPath: String

    private let identity: Mutex<GatewayTLSIdentity>

    /// Loads the identity now, so that a bad file stops the start (see ``GatewayTLSIdentity/init(certificatePath:keyPath:)``).
    public init(certificatePath: String, keyPath: String) throws(GatewayTLSError) {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.identity = Mutex(try GatewayTLSIdentity(certificatePath: certificatePath, keyPath: keyPath))
    }

    /// What new connections are served now.
    public var current: GatewayTLSIdentity { identity.withLock { $0 } }

    /// When the current server certificate stops being valid.
    public var notValidAfter: Date { current.notValidAfter }

    /// Reads both files again and serves what they hold from the next connection on; returns the
    /// identity served before and the new one. On an error nothing changes.
    @discardableResult
    public func reload() throws(GatewayTLSError) -> (old: GatewayTLSIdentity, new: GatewayTLSIdentity) {
        let new = try GatewayTLSIdentity(certificatePath: certificatePath, keyPath: keyPath)
        let old = identity.withLock { current in
            defer { current = new }
            return current
        }
        return (old, new)
    }

    /// A new connection's TLS handler, with the identity current at its accept; it goes first in the
    /// pipeline, nearest the socket.
    func makeServerHandler() -> NIOSSLServerHandler {
        NIOSSLServerHandler(context: current.context)
    }
}
