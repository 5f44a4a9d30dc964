import Foundation
import NIOCore
import NIOSSL

/// The gateway's TLS identity: a certificate chain and its private key, loaded and checked once at
/// start. A `GatewayServer` given one serves `https://` and `wss://` (TLS 1.2 or 1.3, HTTP/1.1) on its
/// port, and nothing in clear.
public struct GatewayTLS: Sendable {
    /// Largest certificate chain file read, in bytes (a chain is a few KiB).
    public static let maxCertificateFileBytes = 1 << 20
    /// Largest private key file read, in bytes (an RSA-16384 key is about 13 KiB).
    public static let maxKeyFileBytes = 64 << 10

    /// The certificate chain file (`--tls-cert`).
    public let certificatePath: String
    /// The private key file (`--tls-key`).
    public let keyPath: String
    /// When the server's certificate (the chain's first) stops being valid.
    public let notValidAfter: Date
    /// Whether the private key file grants any access to its group or others (a warning at start).
    public let isKeyReadableByOthers: Bool

    private let context: NIOSSLContext

    /// Reads `certificatePath` (PEM: the server's certificate, then its intermediates; other PEM
    /// blocks are skipped) and `keyPath` (its unencrypted PEM private key), checks that they belong
    /// together, and prepares the TLS context every connection shares.
    public init(certificatePath: String, keyPath: String) throws(GatewayTLSError) {
        let certificateBytes = try Self.read(.certificate, path: certificatePath, limit: Self.maxCertificateFileBytes)
        let keyBytes = try Self.read(.privateKey, path: keyPath, limit: Self.maxKeyFileBytes)

        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(certificateBytes)
        } catch {
            throw .noCertificate(path: certificatePath)
        }
        guard let leaf = chain.first else { throw .noCertificate(path: certificatePath) }

        // An encrypted key needs a passphrase that a service cannot type: refused before parsing.
        let keyText = String(decoding: keyBytes, as: UTF8.self)
        guard !keyText.contains("ENCRYPTED") else { throw .invalidPrivateKey(path: keyPath) }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(bytes: keyBytes, format: .pem)
        } catch {
            throw .invalidPrivateKey(path: keyPath)
        }

        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(key)
        )
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["http/1.1"]
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch NIOSSLError.failedToLoadPrivateKey {
            // BoringSSL refuses a key that does not match the leaf certificate.
            throw .keyDoesNotMatch(certificatePath: certificatePath, keyPath: keyPath)
        } catch {
            throw .unusable(reason: "\(error)")
        }

        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.notValidAfter = Date(timeIntervalSince1970: TimeInterval(leaf.notValidAfter))
        var status = stat()
        self.isKeyReadableByOthers = stat(keyPath, &status) == 0 && status.st_mode & 0o077 != 0
    }

    /// A new connection's TLS handler; it goes first in the pipeline, nearest the socket.
    func makeServerHandler() -> NIOSSLServerHandler {
        NIOSSLServerHandler(context: context)
    }

    /// The file's bytes, at most `limit` of them (checked while reading, before any parsing).
    private static func read(_ file: GatewayTLSError.File, path: String, limit: Int) throws(GatewayTLSError) -> [UInt8]
    {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file"
            throw .unreadable(file, path: path, reason: reason)
        }
        defer { try? handle.close() }
        let data: Data?
        do {
            data = try handle.read(upToCount: limit + 1)
        } catch {
            throw .unreadable(file, path: path, reason: "\(error.localizedDescription)")
        }
        let bytes = [UInt8](data ?? Data())
        guard bytes.count <= limit else { throw .tooLarge(file, path: path, limit: limit) }
        return bytes
    }
}
