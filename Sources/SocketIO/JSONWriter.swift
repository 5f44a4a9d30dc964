/// An append-only, allocation-light writer of compact JSON into `[UInt8]`.
///
/// Commas between values and members are written automatically. The writer does not check
/// structure: the caller pairs `begin`/`end` calls and writes a `key` before each object member.
public struct JSONWriter: Sendable {
    /// The UTF-8 JSON written so far.
    public private(set) var bytes: [UInt8]
    /// True after a value (or a closed container): the next value or key needs a comma first.
    private var needsComma = false

    /// Creates an empty writer that reserves `capacity` bytes up front.
    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// The JSON written so far, as text.
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// Opens an object: `{`.
    public mutating func beginObject() { open(ASCII.openBrace) }
    /// Closes an object: `}`.
    public mutating func endObject() { close(ASCII.closeBrace) }
    /// Opens an array: `[`.
    public mutating func beginArray() { open(ASCII.openBracket) }
    /// Closes an array: `]`.
    public mutating func endArray() { close(ASCII.closeBracket) }

    /// Writes an object key and its colon; write the member's value next.
    public mutating func key(_ key: String) {
        separate()
        appendQuoted(key)
        bytes.append(ASCII.colon)
        needsComma = false
    }

    /// Writes a string, escaped per RFC 8259 (and U+2028/U+2029 escaped too, for JavaScript).
    public mutating func string(_ value: String) {
        separate()
        appendQuoted(value)
        needsComma = true
    }

    /// Writes a signed integer.
    public mutating func int(_ value: Int64) {
        separate()
        appendInteger(value)
        needsComma = true
    }

    /// Writes an unsigned integer.
    public mutating func uint(_ value: UInt64) {
        separate()
        appendDigits(value)
        needsComma = true
    }

    /// Writes a number. Whole numbers below 2^53 are written without a fraction (`3`, not `3.0`);
    /// JSON has no NaN or infinity, so a non-finite value is written as `null` (as JavaScript does).
    public mutating func double(_ value: Double) {
        separate()
        if !value.isFinite {
            appendVerbatim("null")
        } else if value.rounded(.towardZero) == value, value.magnitude < 9_007_199_254_740_992 {
            appendInteger(Int64(value))
        } else {
            appendVerbatim(value.description)
        }
        needsComma = true
    }

    /// Writes `true` or `false`.
    public mutating func bool(_ value: Bool) {
        separate()
        appendVerbatim(value ? "true" : "false")
        needsComma = true
    }

    /// Writes `null`.
    public mutating func null() {
        separate()
        appendVerbatim("null")
        needsComma = true
    }

    /// Splices one value that is already encoded JSON, as is (it is not checked).
    public mutating func raw(_ json: [UInt8]) {
        separate()
        bytes.append(contentsOf: json)
        needsComma = true
    }

    /// Splices already encoded JSON, as is (it is not checked): one value, or several separated by
    /// commas inside an array.
    public mutating func raw(_ json: ArraySlice<UInt8>) {
        separate()
        bytes.append(contentsOf: json)
        needsComma = true
    }

    /// Makes room for `capacity` bytes in all, so that a large splice grows the buffer once.
    public mutating func reserveCapacity(_ capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    /// Writes a `JSONValue`; object keys are sorted so the output is deterministic.
    public mutating func value(_ value: JSONValue) {
        switch value {
        case .null: null()
        case .bool(let bool): self.bool(bool)
        case .number(let number): double(number)
        case .string(let string): self.string(string)
        case .array(let elements):
            beginArray()
            for element in elements { self.value(element) }
            endArray()
        case .object(let members):
            beginObject()
            for name in members.keys.sorted() {
                key(name)
                if let member = members[name] { self.value(member) }
            }
            endObject()
        }
    }

    // MARK: Verbatim output (framing prefixes); no comma handling

    /// Appends text as is, outside the JSON structure (for packet prefixes such as `42`).
    mutating func appendVerbatim(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    /// Appends one byte as is, outside the JSON structure.
    mutating func appendVerbatim(_ byte: UInt8) {
        bytes.append(byte)
    }

    /// Appends bytes as they are, outside the JSON structure.
    mutating func appendVerbatim(contentsOf more: ArraySlice<UInt8>) {
        bytes.append(contentsOf: more)
    }

    /// Appends the decimal digits of `value` as is, outside the JSON structure.
    mutating func appendDigits(_ value: UInt64) {
        let start = bytes.count
        var rest = value
        repeat {
            bytes.append(ASCII.zero + UInt8(rest % 10))
            rest /= 10
        } while rest > 0
        var low = start
        var high = bytes.count - 1
        while low < high {
            bytes.swapAt(low, high)
            low += 1
            high -= 1
        }
    }

    // MARK: Private

    private mutating func separate() {
        if needsComma { bytes.append(ASCII.comma) }
    }

    private mutating func open(_ byte: UInt8) {
        separate()
        bytes.append(byte)
        needsComma = false
    }

    private mutating func close(_ byte: UInt8) {
        bytes.append(byte)
        needsComma = true
    }

    private mutating func appendInteger(_ value: Int64) {
        if value < 0 { bytes.append(ASCII.minus) }
        appendDigits(value.magnitude)
    }

    private mutating func appendQuoted(_ value: String) {
        bytes.append(ASCII.quote)
        var value = value
        value.withUTF8 { appendEscaped($0) }
        bytes.append(ASCII.quote)
    }

    /// Copies runs of bytes that need no escape in one go; escapes the rest.
    private mutating func appendEscaped(_ utf8: UnsafeBufferPointer<UInt8>) {
        var runStart = 0
        var index = 0
        while index < utf8.count {
            let byte = utf8[index]
            if byte >= 0x20, byte != ASCII.quote, byte != ASCII.backslash, byte != 0xE2 {
                index += 1
                continue
            }
            // U+2028 and U+2029 are E2 80 A8 and E2 80 A9; other E2 sequences pass through.
            var escapedLength = 1
            if byte == 0xE2 {
                guard index + 2 < utf8.count, utf8[index + 1] == 0x80, utf8[index + 2] & 0xFE == 0xA8 else {
                    index += 1
                    continue
                }
                escapedLength = 3
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
            if escapedLength == 3 {
                appendVerbatim(utf8[index + 2] == 0xA8 ? "\\u2028" : "\\u2029")
            } else {
                appendEscape(for: byte)
            }
            index += escapedLength
            runStart = index
        }
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count]))
    }

    private mutating func appendEscape(for byte: UInt8) {
        let short: UInt8? =
            switch byte {
            case ASCII.quote: ASCII.quote
            case ASCII.backslash: ASCII.backslash
            case 0x08: UInt8(ascii: "b")
            case 0x09: UInt8(ascii: "t")
            case 0x0A: UInt8(ascii: "n")
            case 0x0C: UInt8(ascii: "f")
            case 0x0D: UInt8(ascii: "r")
            default: nil
            }
        bytes.append(ASCII.backslash)
        if let short {
            bytes.append(short)
        } else {
            // Only bytes below 0x20 get here: \u00XX.
            appendVerbatim("u00")
            bytes.append(ASCII.zero + (byte >> 4))
            let low = byte & 0x0F
            bytes.append(low < 10 ? ASCII.zero + low : UInt8(ascii: "a") + low - 10)
        }
    }
}
