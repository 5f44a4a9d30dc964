import CZMQ

/// A CURVE key pair (libzmq's `zmq_curve_keypair`): the public key others pin or allow, and the secret
/// key that never leaves this process. Printing it shows the public key only.
public struct CurveKeyPair: Sendable, Equatable, CustomStringConvertible, CustomReflectable {
    /// The public half.
    public let publicKey: CurvePublicKey
    /// The secret half, 32 bytes; only the ZeroMQ module reads it (socket options, key files).
    let secretKey: [UInt8]

    /// A fresh key pair from libzmq (libsodium's random source).
    public static func generate() throws(ZMQError) -> CurveKeyPair {
        var publicText = [CChar](repeating: 0, count: 41)
        var secretText = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&publicText, &secretText) == 0 else { throw ZMQError.last("zmq_curve_keypair") }
        defer { for index in secretText.indices { secretText[index] = 0 } }
        let text = String(decoding: secretText.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let pair = CurveKeyPair(secretZ85: text) else {
            throw ZMQError.failed(
                operation: "zmq_curve_keypair",
                errno: 0,
                message: "libzmq returned a key that is not Z85"
            )
        }
        return pair
    }

    /// The pair whose secret key is `secretZ85` (40 Z85 characters); the public key is derived from it
    /// (`zmq_curve_public`). Nil for text that is not a key.
    public init?(secretZ85: String) {
        guard let secret = Z85.decode(secretZ85, byteCount: CurvePublicKey.byteCount) else { return nil }
        var publicText = [CChar](repeating: 0, count: 41)
        let derived = (Array(secretZ85.utf8).map { CChar(bitPattern: $0) } + [0]).withUnsafeBufferPointer {
            zmq_curve_public(&publicText, $0.baseAddress)
        }
        guard derived == 0,
            let publicKey = CurvePublicKey(
                z85: String(decoding: publicText.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            )
        else { return nil }
        self.publicKey = publicKey
        self.secretKey = secret
    }

    /// The secret key in Z85, for writing a key file.
    var secretZ85: String { Z85.encode(secretKey) ?? "" }

    public var description: String { "CurveKeyPair(public: \(publicKey.z85))" }

    /// `dump` and debuggers see the public key only.
    public var customMirror: Mirror { Mirror(self, children: ["publicKey": publicKey]) }
}
