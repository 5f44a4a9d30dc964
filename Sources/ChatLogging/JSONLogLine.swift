import Logging

/// The `json` log format: one object per line with the fields `time`, `level`, `label`, `message`
/// and `metadata` (an object; keys in the text format's order).
///
/// Strings are escaped as JSON requires (quote, backslash, U+0000–001F) and, like the text format,
/// every other control character (U+007F–009F) and U+2028/U+2029 as `\uXXXX` too: user text can
/// neither break the line nor carry terminal escapes into a viewer.
public enum JSONLogLine {
    /// The line for one event (without its newline).
    public static func format(
        timestamp: String,
        level: Logger.Level,
        label: String,
        message: String,
        metadata: Logger.Metadata
    ) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(128 + metadata.count * 32)
        bytes.append(contentsOf: #"{"time":"#.utf8)
        appendString(timestamp, to: &bytes)
        bytes.append(contentsOf: #","level":"#.utf8)
        appendString(level.rawValue, to: &bytes)
        bytes.append(contentsOf: #","label":"#.utf8)
        appendString(label, to: &bytes)
        bytes.append(contentsOf: #","message":"#.utf8)
        appendString(message, to: &bytes)
        bytes.append(contentsOf: #","metadata":"#.utf8)
        appendObject(TerminalLogHandler.orderedEntries(of: metadata), to: &bytes)
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func appendObject(_ entries: [(key: String, value: Logger.MetadataValue)], to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "{"))
        for (index, (key, value)) in entries.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            appendString(key, to: &bytes)
            bytes.append(UInt8(ascii: ":"))
            appendValue(value, to: &bytes)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    private static func appendValue(_ value: Logger.MetadataValue, to bytes: inout [UInt8]) {
        switch value {
        case .string(let string): appendString(string, to: &bytes)
        case .stringConvertible(let convertible): appendString(convertible.description, to: &bytes)
        case .dictionary(let dictionary): appendObject(dictionary.sorted { $0.key < $1.key }, to: &bytes)
        case .array(let array):
            bytes.append(UInt8(ascii: "["))
            for (index, element) in array.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                appendValue(element, to: &bytes)
            }
            bytes.append(UInt8(ascii: "]"))
        }
    }

    /// Appends `value` as a quoted JSON string, copying runs that need no escape in one go.
    static func appendString(_ value: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            var runStart = 0
            var index = 0
            while index < utf8.count {
                guard let escaped = escapedScalar(in: utf8, at: index) else {
                    index += 1
                    continue
                }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                appendEscape(escaped.scalar, to: &bytes)
                index += escaped.length
                runStart = index
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count]))
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// The scalar starting at `index` and its length in bytes when it must be escaped: JSON's quote,
    /// backslash and C0 controls, and (as in the text format) DEL, the C1 controls (C2 80–C2 9F)
    /// and U+2028/U+2029 (E2 80 A8/A9). Nil for a byte that is copied as it is.
    private static func escapedScalar(
        in utf8: UnsafeBufferPointer<UInt8>,
        at index: Int
    ) -> (scalar: UInt32, length: Int)? {
        let byte = utf8[index]
        switch byte {
        case 0x00...0x1F, 0x22, 0x5C, 0x7F:
            return (UInt32(byte), 1)
        case 0xC2 where index + 1 < utf8.count && (0x80...0x9F).contains(utf8[index + 1]):
            return (UInt32(utf8[index + 1]), 2)
        case 0xE2
        where index + 2 < utf8.count && utf8[index + 1] == 0x80 && (utf8[index + 2] == 0xA8 || utf8[index + 2] == 0xA9):
            return (0x2000 + UInt32(utf8[index + 2] - 0x80), 3)
        default:
            return nil
        }
    }

    private static func appendEscape(_ scalar: UInt32, to bytes: inout [UInt8]) {
        switch scalar {
        case 0x22: bytes += [0x5C, 0x22]
        case 0x5C: bytes += [0x5C, 0x5C]
        case 0x0A: bytes += [0x5C, UInt8(ascii: "n")]
        case 0x0D: bytes += [0x5C, UInt8(ascii: "r")]
        case 0x09: bytes += [0x5C, UInt8(ascii: "t")]
        default:
            let hex = Array("0123456789abcdef".utf8)
            bytes += [0x5C, UInt8(ascii: "u")]
            for shift in stride(from: 12, through: 0, by: -4) {
                bytes.append(hex[Int((scalar >> UInt32(shift)) & 0xF)])
            }
        }
    }
}
