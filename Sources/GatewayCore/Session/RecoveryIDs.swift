import Crypto

/// The ids of a Socket.IO session with connection-state recovery.
///
/// `pid` (private) is 128 bits from the system CSPRNG in hex: a bearer secret the client sends back to
/// resume. `sid` (public, in the CONNECT answer) is derived from it, so a session resumed on any
/// gateway answers the same sid without storing it.
enum RecoveryIDs {
    /// Hex digits of a pid.
    static let pidLength = 32

    /// A fresh pid.
    static func newPid() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<2).map { _ in
            let digits = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }.joined()
    }

    /// Whether `text` has the form of a pid (32 lowercase hex digits).
    static func isPid(_ text: String) -> Bool {
        text.utf8.count == pidLength
            && text.utf8.allSatisfy {
                ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
                    || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f"))
            }
    }

    /// The public sid of session `pid`: the first 80 bits of SHA-256("sid:" ‖ pid) in hex, so it
    /// reveals nothing of the pid.
    static func sid(forPid pid: String) -> String {
        let digest = SHA256.hash(data: Array("sid:\(pid)".utf8))
        return digest.prefix(10).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
