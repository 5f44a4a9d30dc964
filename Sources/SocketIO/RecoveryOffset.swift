/// The offset of Socket.IO connection-state recovery: `"<instance>.<gseq>"`, the broker state that
/// numbered an event and the event's broker-wide sequence number. Appended as the last argument of
/// every room event; a reconnecting client sends the last one it saw back in its CONNECT.
public struct RecoveryOffset: Equatable, Sendable {
    /// Most bytes of the instance part.
    public static let maxInstanceBytes = 64

    /// The broker state's id (letters, digits, `_` and `-`).
    public var instance: String
    /// The event's broker-wide sequence number.
    public var gseq: UInt64

    /// The offset of event `gseq` of broker state `instance`.
    public init(instance: String, gseq: UInt64) {
        self.instance = instance
        self.gseq = gseq
    }

    /// Reads `"<instance>.<gseq>"`; nil for anything else (an unknown instance form, a gseq that is
    /// not a decimal `UInt64`).
    public init?(text: String) {
        // Checked before any other work: the instance, the dot and at most 20 digits.
        guard text.utf8.count <= Self.maxInstanceBytes + 21 else { return nil }
        let utf8 = Array(text.utf8)
        guard let dot = utf8.lastIndex(of: UInt8(ascii: ".")), dot > 0, dot <= Self.maxInstanceBytes,
            utf8[..<dot].allSatisfy(Self.isInstanceByte),
            let gseq = UInt64(String(decoding: utf8[(dot + 1)...], as: UTF8.self)),
            utf8[(dot + 1)...].allSatisfy({ $0 >= ASCII.zero && $0 <= ASCII.nine })
        else { return nil }
        self.init(instance: String(decoding: utf8[..<dot], as: UTF8.self), gseq: gseq)
    }

    /// `"<instance>.<gseq>"`.
    public var text: String { "\(instance).\(gseq)" }

    private static func isInstanceByte(_ byte: UInt8) -> Bool {
        (byte >= ASCII.zero && byte <= ASCII.nine)
            || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z"))
            || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
    }
}
