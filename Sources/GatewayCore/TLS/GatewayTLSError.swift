/// Why the gateway's TLS certificate or key could not be loaded (at start or by a reload). Each message names the file,
/// the flag that gave it and what to do.
public enum GatewayTLSError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Which of the two files a refusal is about.
    public enum File: Sendable, Equatable {
        /// The certificate chain (`--tls-cert`).
        case certificate
        /// The private key (`--tls-key`).
        case privateKey

        /// The command-line flag that names the file.
        public var flag: String {
            switch self {
            case .certificate: return "--tls-cert"
            case .privateKey: return "--tls-key"
            }
        }
    }

    /// The file could not be opened or read (missing, a folder, no permission).
    case unreadable(File, path: String, reason: String)
    /// The file is larger than a certificate chain or key can reasonably be.
    case tooLarge(File, path: String, limit: Int)
    /// The certificate file holds no PEM certificate.
    case noCertificate(path: String)
    /// The key file holds no PEM private key that can be used without a passphrase.
    case invalidPrivateKey(path: String)
    /// The private key file grants access to its group or others.
    case keyReadableByOthers(path: String)
    /// The private key is not the one of the chain's first certificate.
    case keyDoesNotMatch(certificatePath: String, keyPath: String)
    /// The TLS library refused the pair for another reason; the text is its error.
    case unusable(reason: String)

    /// A message that says what went wrong and what to do about it.
    public var description: String {
        switch self {
        case .unreadable(let file, let path, let reason):
            return "\(file.flag) \(path) cannot be read (\(reason)): give the path of a readable PEM file."
        case .tooLarge(let file, let path, let limit):
            return
                "\(file.flag) \(path) is larger than \(limit) bytes: give the PEM file itself, not a bundle or a folder image."
        case .noCertificate(let path):
            return "--tls-cert \(path) holds no PEM certificate (-----BEGIN CERTIFICATE-----): give the server's "
                + "certificate followed by its intermediates, e.g. Let's Encrypt's fullchain.pem."
        case .invalidPrivateKey(let path):
            return "--tls-key \(path) holds no usable PEM private key: give the unencrypted key of the certificate "
                + "(an encrypted one must be decrypted first: openssl pkey -in KEY -out KEY.plain)."
        case .keyReadableByOthers(let path):
            return "--tls-key \(path) may be read by its group or others: run chmod 600 \(path) "
                + "(a private key must be readable by its owner alone)."
        case .keyDoesNotMatch(let certificatePath, let keyPath):
            return
                "--tls-key \(keyPath) is not the private key of the first certificate in --tls-cert \(certificatePath): "
                + "give the key the certificate was issued for, and put the server's certificate first in the chain."
        case .unusable(let reason):
            return
                "The TLS certificate and key cannot be used (\(reason)): check both PEM files with openssl x509 and openssl pkey."
        }
    }
}
