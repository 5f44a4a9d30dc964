/// Why a piece of text could not be read as JSON.
public enum JSONParseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The text is not one valid JSON value (bad syntax, trailing text, invalid UTF-8,
    /// or a number out of the `Double` range).
    case invalidJSON
    /// Arrays and objects are nested deeper than `JSONValue.maxNestingDepth`.
    case tooDeep

    /// A stable snake_case identifier for this error.
    public var code: String {
        switch self {
        case .invalidJSON: "invalid_json"
        case .tooDeep: "json_too_deep"
        }
    }

    /// A message that tells the sender what to fix.
    public var description: String {
        switch self {
        case .invalidJSON:
            "The data is not valid JSON: send exactly one UTF-8 JSON value (RFC 8259) with nothing after it."
        case .tooDeep:
            "The JSON is nested too deeply: use at most \(JSONValue.maxNestingDepth) levels of arrays and objects."
        }
    }
}
