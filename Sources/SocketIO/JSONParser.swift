/// A strict RFC 8259 JSON parser for untrusted input: one pass over UTF-8 bytes, time linear in
/// their number, and every cap of `JSONParserLimits` checked while reading, so that a hostile
/// text is refused as soon as it passes one.
///
/// Refuses everything RFC 8259 does not allow (trailing commas, leading zeros, `NaN`, comments,
/// single quotes, raw control characters in strings, lone surrogate escapes, invalid UTF-8,
/// anything but white space after the value) and, beyond the RFC, objects with a repeated key.
/// Use it through `JSONValue.parse`.
struct JSONParser {
    private let bytes: UnsafeBufferPointer<UInt8>
    private let limits: JSONParserLimits
    private var index = 0
    private var values = 0

    private init(bytes: UnsafeBufferPointer<UInt8>, limits: JSONParserLimits) {
        self.bytes = bytes
        self.limits = limits
    }

    /// Parses exactly one JSON value, with optional white space around it.
    static func parse(_ bytes: some Collection<UInt8>, limits: JSONParserLimits) throws(JSONParseError) -> JSONValue {
        let contiguous = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(JSONParseError) in try parse(buffer: buffer, limits: limits) }
        }
        if let contiguous { return try contiguous.get() }
        return try Array(bytes).withUnsafeBufferPointer { buffer in
            Result { () throws(JSONParseError) in try parse(buffer: buffer, limits: limits) }
        }.get()
    }

    private static func parse(
        buffer: UnsafeBufferPointer<UInt8>,
        limits: JSONParserLimits
    ) throws(JSONParseError) -> JSONValue {
        var parser = JSONParser(bytes: buffer, limits: limits)
        let value = try parser.value(depth: 0)
        parser.skipWhiteSpace()
        guard parser.index == buffer.count else { throw .trailingData(offset: parser.index) }
        return value
    }

    // MARK: Values

    private mutating func value(depth: Int) throws(JSONParseError) -> JSONValue {
        skipWhiteSpace()
        guard index < bytes.count else { throw .unexpectedEnd }
        values += 1
        guard values <= limits.maxValues else { throw .tooManyValues(limit: limits.maxValues) }
        switch bytes[index] {
        case ASCII.openBracket:
            guard depth < limits.maxDepth else { throw .tooDeep(limit: limits.maxDepth) }
            return try array(depth: depth + 1)
        case ASCII.openBrace:
            guard depth < limits.maxDepth else { throw .tooDeep(limit: limits.maxDepth) }
            return try object(depth: depth + 1)
        case ASCII.quote:
            return .string(try string())
        case ASCII.minus, ASCII.zero...ASCII.nine:
            return .number(try number())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        default:
            throw .unexpectedByte(offset: index)
        }
    }

    /// `[` value (`,` value)* `]`, starting at the `[`.
    private mutating func array(depth: Int) throws(JSONParseError) -> JSONValue {
        index += 1
        var elements: [JSONValue] = []
        skipWhiteSpace()
        if try peek() == ASCII.closeBracket {
            index += 1
            return .array(elements)
        }
        while true {
            elements.append(try value(depth: depth))
            skipWhiteSpace()
            switch try peek() {
            case ASCII.comma: index += 1
            case ASCII.closeBracket:
                index += 1
                return .array(elements)
            default: throw .unexpectedByte(offset: index)
            }
        }
    }

    /// `{` string `:` value (`,` string `:` value)* `}`, starting at the `{`.
    private mutating func object(depth: Int) throws(JSONParseError) -> JSONValue {
        index += 1
        var members: [String: JSONValue] = [:]
        skipWhiteSpace()
        if try peek() == ASCII.closeBrace {
            index += 1
            return .object(members)
        }
        while true {
            skipWhiteSpace()
            let keyOffset = index
            guard try peek() == ASCII.quote else { throw .unexpectedByte(offset: index) }
            let key = try string()
            skipWhiteSpace()
            guard try peek() == ASCII.colon else { throw .unexpectedByte(offset: index) }
            index += 1
            guard members.updateValue(try value(depth: depth), forKey: key) == nil else {
                throw .duplicateKey(offset: keyOffset)
            }
            skipWhiteSpace()
            switch try peek() {
            case ASCII.comma: index += 1
            case ASCII.closeBrace:
                index += 1
                return .object(members)
            default: throw .unexpectedByte(offset: index)
            }
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONParseError) {
        let start = index
        for (offset, expected) in UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount).enumerated()
        {
            guard start + offset < bytes.count else { throw .unexpectedEnd }
            guard bytes[start + offset] == expected else { throw .unexpectedByte(offset: start + offset) }
        }
        index = start + word.utf8CodeUnitCount
    }

    // MARK: Numbers

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, at most `maxNumberLength` characters.
    private mutating func number() throws(JSONParseError) -> Double {
        let start = index
        if bytes[index] == ASCII.minus { index += 1 }
        // Integer part: a single 0, or digits not starting with 0.
        guard index < bytes.count, isDigit(bytes[index]) else { throw numberError(start) }
        if bytes[index] == ASCII.zero {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) { throw .invalidNumber(offset: start) }
        } else {
            try digits(from: start)
        }
        var isInteger = true
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw numberError(start) }
            try digits(from: start)
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            isInteger = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == ASCII.minus { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw numberError(start) }
            try digits(from: start)
        }
        try checkNumberLength(from: start)
        let text = UnsafeBufferPointer(rebasing: bytes[start..<index])
        // Up to 15 digits fit a Double exactly: no need for the general conversion.
        if isInteger, text.count <= 16 {
            let negative = text[0] == ASCII.minus
            var magnitude: Int64 = 0
            for byte in text.dropFirst(negative ? 1 : 0) { magnitude = magnitude * 10 + Int64(byte - ASCII.zero) }
            if magnitude < 1 << 53 { return negative ? -Double(magnitude) : Double(magnitude) }
        }
        guard let value = Double(String(decoding: text, as: UTF8.self)), value.isFinite else {
            throw .numberOutOfRange(offset: start)
        }
        return value
    }

    /// Consumes a run of digits, failing as soon as the number (from `start`) is too long.
    private mutating func digits(from start: Int) throws(JSONParseError) {
        while index < bytes.count, isDigit(bytes[index]) {
            index += 1
            try checkNumberLength(from: start)
        }
    }

    private func checkNumberLength(from start: Int) throws(JSONParseError) {
        guard index - start <= limits.maxNumberLength else { throw .numberTooLong(limit: limits.maxNumberLength) }
    }

    private func numberError(_ start: Int) -> JSONParseError {
        index < bytes.count ? .invalidNumber(offset: start) : .unexpectedEnd
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= ASCII.zero && byte <= ASCII.nine }

    // MARK: Strings

    /// A string starting at its opening quote; at most `maxStringBytes` bytes between the quotes.
    private mutating func string() throws(JSONParseError) -> String {
        index += 1
        let start = index
        // The string may close at `lastQuote` at the latest; nothing past it is looked at.
        let lastQuote = start + min(limits.maxStringBytes, bytes.count - start)
        // Bytes of the decoded string, needed only once an escape appears.
        var unescaped: [UInt8] = []
        var hasEscapes = false
        var runStart = start
        while true {
            // The common case first: printable ASCII other than the quote and the backslash.
            while index < lastQuote, case let byte = bytes[index], byte >= 0x20, byte < 0x80, byte != ASCII.quote,
                byte != ASCII.backslash
            {
                index += 1
            }
            guard index - start <= limits.maxStringBytes else { throw .stringTooLong(limit: limits.maxStringBytes) }
            guard index < bytes.count else { throw .unexpectedEnd }
            let byte = bytes[index]
            if byte == ASCII.quote {
                let run = UnsafeBufferPointer(rebasing: bytes[runStart..<index])
                index += 1
                guard hasEscapes else { return String(decoding: run, as: UTF8.self) }
                unescaped.append(contentsOf: run)
                return String(decoding: unescaped, as: UTF8.self)
            } else if index == lastQuote, index - start == limits.maxStringBytes {
                throw .stringTooLong(limit: limits.maxStringBytes)
            } else if byte == ASCII.backslash {
                if !hasEscapes {
                    hasEscapes = true
                    unescaped.reserveCapacity(lastQuote - start)
                }
                unescaped.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                try escape(into: &unescaped)
                runStart = index
            } else if byte < 0x20 {
                throw .controlCharacter(offset: index)
            } else {
                index += try utf8SequenceLength(at: index)
            }
        }
    }

    /// Decodes the escape at `index` (the backslash) and appends its UTF-8 bytes.
    private mutating func escape(into output: inout [UInt8]) throws(JSONParseError) {
        let start = index
        guard index + 1 < bytes.count else { throw .unexpectedEnd }
        let short: UInt8? =
            switch bytes[index + 1] {
            case ASCII.quote: ASCII.quote
            case ASCII.backslash: ASCII.backslash
            case ASCII.slash: ASCII.slash
            case UInt8(ascii: "b"): 0x08
            case UInt8(ascii: "f"): 0x0C
            case UInt8(ascii: "n"): 0x0A
            case UInt8(ascii: "r"): 0x0D
            case UInt8(ascii: "t"): 0x09
            default: nil
            }
        if let short {
            output.append(short)
            index += 2
            return
        }
        guard bytes[index + 1] == UInt8(ascii: "u") else { throw .invalidEscape(offset: start) }
        let unit = try hexUnit(at: index + 2, escape: start)
        index += 6
        var scalarValue = UInt32(unit)
        switch unit {
        case 0xD800...0xDBFF:
            // A high surrogate must be followed at once by an escaped low surrogate.
            guard index + 1 < bytes.count, bytes[index] == ASCII.backslash, bytes[index + 1] == UInt8(ascii: "u") else {
                throw .loneSurrogate(offset: start)
            }
            let low = try hexUnit(at: index + 2, escape: index)
            guard (0xDC00...0xDFFF).contains(low) else { throw .loneSurrogate(offset: start) }
            index += 6
            scalarValue = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
        case 0xDC00...0xDFFF:
            throw .loneSurrogate(offset: start)
        default:
            break
        }
        // UTF-8 of the scalar (surrogates cannot get here).
        switch scalarValue {
        case ..<0x80:
            output.append(UInt8(scalarValue))
        case ..<0x800:
            output.append(0xC0 | UInt8(scalarValue >> 6))
            output.append(0x80 | UInt8(scalarValue & 0x3F))
        case ..<0x10000:
            output.append(0xE0 | UInt8(scalarValue >> 12))
            output.append(0x80 | UInt8((scalarValue >> 6) & 0x3F))
            output.append(0x80 | UInt8(scalarValue & 0x3F))
        default:
            output.append(0xF0 | UInt8(scalarValue >> 18))
            output.append(0x80 | UInt8((scalarValue >> 12) & 0x3F))
            output.append(0x80 | UInt8((scalarValue >> 6) & 0x3F))
            output.append(0x80 | UInt8(scalarValue & 0x3F))
        }
    }

    /// The four hex digits at `offset` as a UTF-16 code unit.
    private func hexUnit(at offset: Int, escape: Int) throws(JSONParseError) -> UInt16 {
        guard offset + 4 <= bytes.count else { throw .unexpectedEnd }
        var unit: UInt16 = 0
        for position in offset..<(offset + 4) {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case ASCII.zero...ASCII.nine: digit = byte - ASCII.zero
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw .invalidEscape(offset: escape)
            }
            unit = unit << 4 | UInt16(digit)
        }
        return unit
    }

    /// The length of the well-formed UTF-8 sequence (RFC 3629) of 2–4 bytes at `offset`.
    private func utf8SequenceLength(at offset: Int) throws(JSONParseError) -> Int {
        let lead = bytes[offset]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0:
            length = 3
            secondRange = 0xA0...0xBF  // no overlong forms
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED:
            length = 3
            secondRange = 0x80...0x9F  // no encoded surrogates
        case 0xF0:
            length = 4
            secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4:
            length = 4
            secondRange = 0x80...0x8F  // nothing above U+10FFFF
        default: throw .invalidUTF8(offset: offset)
        }
        guard offset + length <= bytes.count, secondRange.contains(bytes[offset + 1]) else {
            throw .invalidUTF8(offset: offset)
        }
        for continuation in bytes[(offset + 2)..<(offset + length)] where continuation & 0xC0 != 0x80 {
            throw .invalidUTF8(offset: offset)
        }
        return length
    }

    // MARK: White space

    private mutating func skipWhiteSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): index += 1
            default: return
            }
        }
    }

    /// The byte at `index`; the text must not end here.
    private func peek() throws(JSONParseError) -> UInt8 {
        guard index < bytes.count else { throw .unexpectedEnd }
        return bytes[index]
    }
}
