import CZMQ

/// ZeroMQ's Z85 text encoding of binary keys (`zmq_z85_encode` / `zmq_z85_decode`): 5 characters per 4 bytes.
enum Z85 {
    /// The 85 characters of the encoding, for checking text before libzmq decodes it.
    private static let alphabet = Set(
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#".utf8
    )

    /// The text of `bytes` (a multiple of 4 bytes long), or nil if libzmq refuses.
    static func encode(_ bytes: [UInt8]) -> String? {
        guard bytes.count % 4 == 0 else { return nil }
        var text = [CChar](repeating: 0, count: bytes.count * 5 / 4 + 1)
        let done = bytes.withUnsafeBufferPointer { zmq_z85_encode(&text, $0.baseAddress, $0.count) }
        guard done != nil else { return nil }
        return String(decoding: text.prefix(bytes.count * 5 / 4).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The bytes of `text`, or nil unless it is `byteCount * 5 / 4` characters of the alphabet that
    /// encode exactly those bytes (a block above 2^32 - 1 is refused).
    static func decode(_ text: String, byteCount: Int) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard byteCount % 4 == 0, utf8.count == byteCount * 5 / 4, utf8.allSatisfy(alphabet.contains) else {
            return nil
        }
        var bytes = [UInt8](repeating: 0, count: byteCount)
        let done = (utf8.map { CChar(bitPattern: $0) } + [0]).withUnsafeBufferPointer { chars in
            zmq_z85_decode(&bytes, chars.baseAddress)
        }
        // Encoding back must give the same text: no block overflowed on the way in.
        guard done != nil, encode(bytes) == text else { return nil }
        return bytes
    }
}
