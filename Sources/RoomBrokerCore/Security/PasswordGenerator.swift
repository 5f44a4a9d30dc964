import Foundation

/// Makes room passwords from the system's CSPRNG.
public enum PasswordGenerator {
    /// Letters and digits without the look-alikes 0/O, 1/l/I: 57 symbols, easy to read aloud and type.
    public static let alphabet: [Character] = Array("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")
    /// Password length: 12 symbols of 57 give log2(57) × 12 ≈ 70 bits of entropy.
    public static let length = 12

    /// The bits of entropy of one generated password.
    public static var entropyBits: Double {
        Double(length) * Foundation.log2(Double(alphabet.count))
    }

    /// A new password drawn from `SystemRandomNumberGenerator` (getrandom(2) on Linux).
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        return generate(using: &generator)
    }

    /// A new password drawn from `generator`, each symbol uniformly (no modulo bias).
    public static func generate(using generator: inout some RandomNumberGenerator) -> String {
        var password = ""
        password.reserveCapacity(length)
        for _ in 0..<length {
            password.append(alphabet[Int.random(in: 0..<alphabet.count, using: &generator)])
        }
        return password
    }
}
