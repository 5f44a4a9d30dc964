import Crypto

/// A room password as the broker keeps it: a random salt and SHA-256(salt ‖ password), never the plaintext.
///
/// Passwords are server-generated with ~70 bits of entropy, so a single salted SHA-256 already puts
/// brute force out of reach; a deliberately slow KDF would only slow down every join.
public struct PasswordHash: Sendable, Codable {
    /// Length of the random salt, in bytes.
    public static let saltLength = 16

    private let salt: [UInt8]
    private let digest: [UInt8]

    /// Hashes `password` with a fresh salt from the system CSPRNG.
    public init(password: String) {
        var generator = SystemRandomNumberGenerator()
        self.init(password: password, using: &generator)
    }

    /// Hashes `password` with a salt drawn from `generator`.
    public init(password: String, using generator: inout some RandomNumberGenerator) {
        var salt = [UInt8](repeating: 0, count: Self.saltLength)
        for index in salt.indices { salt[index] = UInt8.random(in: 0...255, using: &generator) }
        self.salt = salt
        self.digest = Self.digest(salt: salt, password: password)
    }

    /// Whether `candidate` is the password, compared in constant time.
    public func matches(_ candidate: String) -> Bool {
        let other = Self.digest(salt: salt, password: candidate)
        var difference: UInt8 = 0
        for index in digest.indices { difference |= digest[index] ^ other[index] }
        return difference == 0
    }

    private static func digest(salt: [UInt8], password: String) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: salt)
        hasher.update(data: Array(password.utf8))
        return Array(hasher.finalize())
    }
}

extension PasswordHash: CustomStringConvertible {
    /// Never shows the digest or salt, so a logged room cannot leak anything.
    public var description: String { "PasswordHash(redacted)" }
}
