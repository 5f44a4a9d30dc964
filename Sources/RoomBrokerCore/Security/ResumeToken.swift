import ChatWire
import Crypto

/// A member's resume token as the broker keeps it: SHA-256 of the token, never the token. The token is
/// 128 random bits (``FieldValidator/tokenLength`` hex digits), so a plain hash is out of reach of
/// guessing without a salt. Only its member's client learns it, from its join ack; a join with it takes
/// that membership over at once (docs/PROTOCOL.md, "Resume tokens").
public struct ResumeToken: Sendable, Codable, Equatable {
    private let digest: [UInt8]

    /// The hash of `token`.
    init(token: String) {
        digest = Array(SHA256.hash(data: Array(token.utf8)))
    }

    /// A fresh token drawn from `random` (replayable, so a standby draws the same) and its hash.
    static func make(using random: inout some RandomNumberGenerator) -> (token: String, hash: ResumeToken) {
        var token = ""
        for _ in 0..<(FieldValidator.tokenLength / 16) {
            let bits = String(random.next(), radix: 16)
            token += String(repeating: "0", count: 16 - bits.count) + bits
        }
        return (token, ResumeToken(token: token))
    }

    /// Whether `candidate` is the token, compared in constant time.
    func matches(_ candidate: String) -> Bool {
        let other = ResumeToken(token: candidate).digest
        var difference: UInt8 = 0
        for index in digest.indices { difference |= digest[index] ^ other[index] }
        return difference == 0
    }
}

extension ResumeToken: CustomStringConvertible {
    /// Never shows the digest, so a logged member cannot leak anything.
    public var description: String { "ResumeToken(redacted)" }
}
