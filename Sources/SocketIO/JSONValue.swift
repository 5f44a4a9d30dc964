import Foundation

/// A JSON value as read from a client: objects, arrays and scalars, numbers as `Double`.
public enum JSONValue: Sendable, Hashable {
    /// JSON `null`.
    case null
    /// JSON `true` or `false`.
    case bool(Bool)
    /// Any JSON number.
    case number(Double)
    /// A JSON string.
    case string(String)
    /// A JSON array.
    case array([JSONValue])
    /// A JSON object; key order is not kept.
    case object([String: JSONValue])
}

// MARK: - Parsing

extension JSONValue {
    /// The deepest nesting of arrays and objects `parse` accepts. Foundation's decoder takes
    /// more than quadratic time in the depth, so a small limit keeps hostile input cheap.
    public static let maxNestingDepth = 32

    /// Parses one JSON value (any top-level value, surrounding whitespace allowed) from UTF-8 bytes.
    ///
    /// Uses Foundation's `JSONDecoder`, which is slightly lenient: it accepts one trailing comma
    /// in an array or object, raw control characters inside strings, and lone surrogate escapes.
    public static func parse(_ bytes: some Collection<UInt8>) throws(JSONParseError) -> JSONValue {
        let data = Data(bytes)
        guard data.withUnsafeBytes({ nestingDepth(of: $0) }) <= maxNestingDepth else { throw .tooDeep }
        do {
            return try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw .invalidJSON
        }
    }

    /// The deepest nesting of `[` and `{` outside strings (a cheap scan; syntax is not checked).
    private static func nestingDepth(of json: UnsafeRawBufferPointer) -> Int {
        var depth = 0
        var deepest = 0
        var inString = false
        var escaped = false
        for byte in json {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == ASCII.backslash {
                    escaped = true
                } else if byte == ASCII.quote {
                    inString = false
                }
            } else if byte == ASCII.quote {
                inString = true
            } else if byte == ASCII.openBracket || byte == ASCII.openBrace {
                depth += 1
                deepest = max(deepest, depth)
            } else if byte == ASCII.closeBracket || byte == ASCII.closeBrace {
                depth -= 1
            }
        }
        return deepest
    }

    /// Parses one JSON value from text.
    public static func parse(_ text: some StringProtocol) throws(JSONParseError) -> JSONValue {
        try parse(text.utf8)
    }
}

// MARK: - Codable

extension JSONValue: Codable {
    /// Decodes any JSON value; `true`/`false` become `.bool`, never `.number`.
    /// Unlike `parse`, this does not limit nesting depth: use `parse` for untrusted input.
    public init(from decoder: any Decoder) throws {
        // Containers are asked for first: trying scalars first and catching their type errors
        // at every level makes deep nesting cost far more than linear time.
        if var container = try? decoder.unkeyedContainer() {
            var elements: [JSONValue] = []
            if let count = container.count { elements.reserveCapacity(count) }
            while !container.isAtEnd { elements.append(try container.decode(JSONValue.self)) }
            self = .array(elements)
        } else if let container = try? decoder.container(keyedBy: MemberKey.self) {
            var members: [String: JSONValue] = [:]
            for key in container.allKeys {
                members[key.stringValue] = try container.decode(JSONValue.self, forKey: key)
            }
            self = .object(members)
        } else {
            let container = try decoder.singleValueContainer()
            // Bool is tried before Double so that a decoder which bridges numbers and booleans
            // (as Foundation on Linux once did) still tells them apart.
            if container.decodeNil() {
                self = .null
            } else if let value = try? container.decode(String.self) {
                self = .string(value)
            } else if let value = try? container.decode(Bool.self) {
                self = .bool(value)
            } else {
                self = .number(try container.decode(Double.self))
            }
        }
    }

    /// Any object member name.
    private struct MemberKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Encodes the value as the JSON it stands for.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

// MARK: - Accessors

extension JSONValue {
    /// The member named `key` of an object, or nil (not an object, or no such key).
    public subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { object[key] } else { nil }
    }

    /// The element at `index` of an array, or nil (not an array, or out of range).
    public subscript(index: Int) -> JSONValue? {
        if case .array(let array) = self, array.indices.contains(index) { array[index] } else { nil }
    }

    /// The string, if this is a string.
    public var stringValue: String? {
        if case .string(let value) = self { value } else { nil }
    }

    /// The number, if this is a number.
    public var doubleValue: Double? {
        if case .number(let value) = self { value } else { nil }
    }

    /// The number as an `Int64`, if this is a number with no fractional part that fits.
    public var int64Value: Int64? {
        guard case .number(let value) = self else { return nil }
        return Int64(exactly: value)
    }

    /// The Boolean, if this is `true` or `false`.
    public var boolValue: Bool? {
        if case .bool(let value) = self { value } else { nil }
    }

    /// The elements, if this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { value } else { nil }
    }

    /// The members, if this is an object.
    public var objectValue: [String: JSONValue]? {
        if case .object(let value) = self { value } else { nil }
    }

    /// Whether this is `null`.
    public var isNull: Bool { self == .null }

    /// Compact JSON text of this value (object keys sorted).
    public var jsonText: String {
        var writer = JSONWriter()
        writer.value(self)
        return writer.text
    }
}

// MARK: - Literals

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    /// `nil` as JSON `null`.
    public init(nilLiteral: ()) { self = .null }
    /// A Boolean literal.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// An integer literal, stored as a `Double`.
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    /// A floating-point literal.
    public init(floatLiteral value: Double) { self = .number(value) }
    /// A string literal.
    public init(stringLiteral value: String) { self = .string(value) }
    /// An array literal.
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    /// A dictionary literal; a repeated key keeps its last value.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}
