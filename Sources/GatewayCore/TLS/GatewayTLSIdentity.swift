import Crypto
import Foundation
import NIOCore
import NIOSSL

/// One certificate chain and its private key, read from their files and checked: what a
/// ``GatewayTLS`` serves until its next reload. It holds the TLS context every new connection shares;
/// what it tells of itself (``notValidAfter``, ``fingerprint``) never includes key material.
public struct GatewayTLSIdentity: Sendable {
    /// Largest certificate chain file read, in bytes (a chain is a few KiB).
    public static let maxCertificateFileBytes = 1 << 20
    /// Largest private key file read, in bytes (an RSA-16384 key is about 13 KiB).
    public static let maxKeyFileBytes = 64 << 10

    /// When the server's certificate (the chain's first) stops being valid.
    public let notValidAfter: Date
    /// The SHA-256 of the server certificate's DER bytes, in hex (as `openssl x509 -fingerprint -sha256` shows it, without colons).
    public let fingerprint: String

    let context: NIOSSLContext

    /// Reads `certificatePath` (PEM: the server's certificate, then its intermediates; other PEM
    /// blocks are skipped) and `keyPath` (its unencrypted PEM private key, mode 0600 or stricter),
    /// checks that they belong together, and prepares the TLS context.
    public init(certificatePath: String, keyPath: String) throws(GatewayTLSError) {
        let certificateBytes = try Self.read(.certificate, path: certificatePath, limit: Self.maxCertificateFileBytes)
        let keyBytes = try Self.read(.privateKey, path: keyPath, limit: Self.maxKeyFileBytes)
        // Checked on the open file's own permissions: a key others could read is refused, as a CURVE secret is.
        var status = stat()
        guard stat(keyPath, &status) == 0, status.st_mode & 0o077 == 0 else {
            throw .keyReadableByOthers(path: keyPath)
        }

        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(certificateBytes)
        } catch {
            throw .noCertificate(path: certificatePath)
        }
        guard let leaf = chain.first, let der = try? leaf.toDERBytes() else {
            throw .noCertificate(path: certificatePath)
        }

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
        notValidAfter = Date(timeIntervalSince1970: TimeInterval(leaf.notValidAfter))
        fingerprint = SHA256.hash(data: der).map { String(format: "%02X", $0) }.joined()
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
