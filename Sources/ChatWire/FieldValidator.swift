/// The limits on user-supplied fields, enforced by the broker (authoritative) and early by gateways.
public enum FieldValidator {
    /// Longest display name, in characters.
    public static let maxNameLength = 32
    /// Longest room name, in characters.
    public static let maxRoomLength = 32
    /// Longest message text, in characters.
    public static let maxTextLength = 2000
    /// Longest password accepted for checking, in characters.
    public static let maxPasswordLength = 64

    /// The display name trimmed of surrounding white space, or why it is refused.
    public static func name(_ raw: String) throws(ChatError) -> String {
        let name = raw.trimmingWhitespace()
        guard !name.isEmpty else { throw ChatError(.badRequest, "name must not be empty") }
        guard name.count <= maxNameLength else {
            throw ChatError(.badRequest, "name must be at most \(maxNameLength) characters")
        }
        guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw ChatError(.badRequest, "name must not contain control characters")
        }
        return name
    }

    /// The room name trimmed, or why it is refused: 1–32 of `A-Z a-z 0-9 _ -`.
    public static func room(_ raw: String) throws(ChatError) -> String {
        let room = raw.trimmingWhitespace()
        guard !room.isEmpty else { throw ChatError(.badRequest, "room must not be empty") }
        guard room.utf8.count <= maxRoomLength else {
            throw ChatError(.badRequest, "room must be at most \(maxRoomLength) characters")
        }
        guard room.utf8.allSatisfy(isRoomByte) else {
            throw ChatError(.badRequest, "room may contain only letters, digits, '_' and '-'")
        }
        return room
    }

    /// The message text, or why it is refused: 1–2000 characters, not only white space.
    public static func text(_ raw: String) throws(ChatError) -> String {
        guard !raw.trimmingWhitespace().isEmpty else {
            throw ChatError(.badRequest, "text must not be empty")
        }
        guard raw.count <= maxTextLength else {
            throw ChatError(.badRequest, "text must be at most \(maxTextLength) characters")
        }
        return raw
    }

    /// The password as given, or why it is refused (too long to be one of ours).
    public static func password(_ raw: String) throws(ChatError) -> String {
        guard !raw.isEmpty else { throw ChatError(.badRequest, "password must not be empty") }
        guard raw.count <= maxPasswordLength else {
            throw ChatError(.badRequest, "password must be at most \(maxPasswordLength) characters")
        }
        return raw
    }

    private static func isRoomByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }
}

/// White-space trimming without Foundation.
extension String {
    /// The string without leading and trailing white space and newlines.
    public func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
