/// Why a text could not be read as JSON. Offsets count UTF-8 bytes from the start of the text.
public enum JSONParseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The text ended inside a value (or was empty, or only white space).
    case unexpectedEnd
    /// A byte that no JSON value, separator or white space may start with here.
    case unexpectedByte(offset: Int)
    /// Something other than white space follows the one JSON value.
    case trailingData(offset: Int)
    /// A number with a leading zero, or without digits after `-`, `.` or the exponent.
    case invalidNumber(offset: Int)
    /// A number too large for a 64-bit floating point value (`1e400`).
    case numberOutOfRange(offset: Int)
    /// A backslash escape other than `\" \\ \/ \b \f \n \r \t \uXXXX`.
    case invalidEscape(offset: Int)
    /// A `\u` escape of a UTF-16 surrogate that is not one half of a pair.
    case loneSurrogate(offset: Int)
    /// A control character (U+0000–U+001F) written raw inside a string: it must be escaped.
    case controlCharacter(offset: Int)
    /// Bytes that are not UTF-8 (overlong forms and encoded surrogates included).
    case invalidUTF8(offset: Int)
    /// An object names the same member twice.
    case duplicateKey(offset: Int)
    /// Arrays and objects nest deeper than the limit.
    case tooDeep(limit: Int)
    /// More values than the limit.
    case tooManyValues(limit: Int)
    /// A string longer than the limit, in bytes as written.
    case stringTooLong(limit: Int)
    /// A number longer than the limit, in characters.
    case numberTooLong(limit: Int)

    /// A stable snake_case identifier for this error: `invalid_json` for anything RFC 8259
    /// refuses, a code of its own for each cap and for duplicate keys.
    public var code: String {
        switch self {
        case .unexpectedEnd, .unexpectedByte, .trailingData, .invalidNumber, .numberOutOfRange, .invalidEscape,
            .loneSurrogate, .controlCharacter, .invalidUTF8:
            "invalid_json"
        case .duplicateKey: "json_duplicate_key"
        case .tooDeep: "json_too_deep"
        case .tooManyValues: "json_too_many_values"
        case .stringTooLong: "json_string_too_long"
        case .numberTooLong: "json_number_too_long"
        }
    }

    /// A message that tells the sender what to fix.
    public var description: String {
        let invalid = "The data is not valid JSON (RFC 8259)"
        return switch self {
        case .unexpectedEnd:
            "\(invalid): it ends in the middle of a value. Send exactly one complete JSON value."
        case .unexpectedByte(let offset):
            "\(invalid): unexpected character at byte \(offset)."
        case .trailingData(let offset):
            "\(invalid): there is more after the value, at byte \(offset). Send exactly one JSON value."
        case .invalidNumber(let offset):
            "\(invalid): malformed number at byte \(offset) (no leading zeros, digits after '-', '.' and 'e')."
        case .numberOutOfRange(let offset):
            "\(invalid): the number at byte \(offset) is too large."
        case .invalidEscape(let offset):
            "\(invalid): unknown escape at byte \(offset); use \\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX."
        case .loneSurrogate(let offset):
            "\(invalid): the \\u escape at byte \(offset) is half of a UTF-16 surrogate pair without the other half."
        case .controlCharacter(let offset):
            "\(invalid): a control character at byte \(offset) inside a string must be escaped."
        case .invalidUTF8(let offset):
            "\(invalid): the bytes at \(offset) are not UTF-8."
        case .duplicateKey(let offset):
            "The JSON object names the same member twice (at byte \(offset)): send each member once."
        case .tooDeep(let limit):
            "The JSON is nested too deeply: use at most \(limit) levels of arrays and objects."
        case .tooManyValues(let limit):
            "The JSON has too many values: send at most \(limit) values (scalars, arrays and objects) in all."
        case .stringTooLong(let limit):
            "A JSON string is too long: each string may have at most \(limit) bytes as written."
        case .numberTooLong(let limit):
            "A JSON number is too long: write numbers with at most \(limit) characters."
        }
    }
}
