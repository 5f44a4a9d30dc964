/// The few Engine.IO / Socket.IO packets the benchmark tells apart, read with byte scans only
/// (no JSON parsing on the delivery path).
public enum EnginePacket: Sendable {
    /// `0{…}`: the Engine.IO open packet.
    case open
    /// `2`: an Engine.IO ping.
    case ping
    /// `40{…}`: the namespace connect was accepted.
    case connected
    /// `44{…}`: the namespace connect was refused.
    case connectError(String)
    /// `42["message",{…"seq":N…"text":"<sendNanos> …"…}]`.
    case message(seq: UInt64, sentNanos: UInt64)
    /// `42["joined"|"left",{…"seq":N…}]`.
    case membership(seq: UInt64)
    /// `43<id>[<json>]`: an ack; `json` is the array text.
    case ack(id: UInt64, json: String)
    /// Anything else (ignored).
    case other

    private static let messagePrefix = Array(#"42["message",{"#.utf8)
    private static let seqKey = Array(#""seq":"#.utf8)
    private static let textKey = Array(#""text":""#.utf8)

    /// Classifies one text frame's payload.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> EnginePacket {
        guard let first = bytes.first else { return .other }
        switch first {
        case UInt8(ascii: "0"): return .open
        case UInt8(ascii: "2"): return bytes.count == 1 ? .ping : .other
        case UInt8(ascii: "4"): break
        default: return .other
        }
        guard bytes.count >= 2 else { return .other }
        switch bytes[1] {
        case UInt8(ascii: "0"):
            return .connected
        case UInt8(ascii: "4"):
            return .connectError(String(decoding: bytes[2...], as: UTF8.self))
        case UInt8(ascii: "2"):
            guard let seqAt = find(seqKey, in: bytes, from: 3),
                let seq = number(in: bytes, at: seqAt + seqKey.count)
            else { return .other }
            if hasPrefix(messagePrefix, bytes) {
                guard let textAt = find(textKey, in: bytes, from: seqAt),
                    let sent = number(in: bytes, at: textAt + textKey.count)
                else { return .other }
                return .message(seq: seq, sentNanos: sent)
            }
            return .membership(seq: seq)
        case UInt8(ascii: "3"):
            var i = 2
            var id: UInt64 = 0
            while i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") {
                id = id &* 10 &+ UInt64(bytes[i] - UInt8(ascii: "0"))
                i += 1
            }
            guard i > 2 else { return .other }
            return .ack(id: id, json: String(decoding: bytes[i...], as: UTF8.self))
        default:
            return .other
        }
    }

    private static func hasPrefix(_ prefix: [UInt8], _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= prefix.count else { return false }
        for i in 0..<prefix.count where bytes[i] != prefix[i] { return false }
        return true
    }

    private static func find(_ needle: [UInt8], in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard let head = needle.first, bytes.count >= needle.count else { return nil }
        var i = start
        let last = bytes.count - needle.count
        outer: while i <= last {
            if bytes[i] == head {
                for j in 1..<needle.count where bytes[i + j] != needle[j] {
                    i += 1
                    continue outer
                }
                return i
            }
            i += 1
        }
        return nil
    }

    private static func number(in bytes: UnsafeRawBufferPointer, at start: Int) -> UInt64? {
        var i = start
        var value: UInt64 = 0
        while i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") {
            value = value &* 10 &+ UInt64(bytes[i] - UInt8(ascii: "0"))
            i += 1
        }
        return i > start ? value : nil
    }
}
