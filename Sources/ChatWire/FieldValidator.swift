import Foundation

/// The limits on user-supplied fields, enforced by the broker (authoritative) and early by gateways.
///
/// Every limit counts UTF-8 bytes and Unicode scalars, never grapheme clusters: one "character" can
/// carry any number of combining marks, so `String.count` bounds nothing (docs/PROTOCOL.md, "Limits").
public enum FieldValidator {
    /// Most Unicode scalars in a display name.
    public static let maxNameScalars = 32
    /// Most UTF-8 bytes in a display name.
    public static let maxNameBytes = 64
    /// Most bytes in a room name (ASCII only).
    public static let maxRoomLength = 32
    /// Most Unicode scalars in a message text.
    public static let maxTextScalars = 2000
    /// Most UTF-8 bytes in a message text.
    public static let maxTextBytes = 8000
    /// Most bytes in a password accepted for checking (printable ASCII only).
    public static let maxPasswordLength = 64
    /// Most bytes in an idempotency key.
    public static let maxKeyLength = 64
    /// Most combining marks allowed in a row in a name.
    public static let maxCombiningRun = 4

    /// The display name trimmed of surrounding white space, or why it is refused.
    public static func name(_ raw: String) throws(ChatError) -> String {
        // Bound the work before trimming or walking scalars: a name can be no longer than this raw.
        guard raw.utf8.count <= maxNameBytes * 4 else {
            throw ChatError(.badRequest, "name must be at most \(maxNameBytes) bytes")
        }
        let name = raw.trimmingWhitespace()
        guard !name.isEmpty else { throw ChatError(.badRequest, "name must not be empty") }
        guard name.utf8.count <= maxNameBytes else {
            throw ChatError(.badRequest, "name must be at most \(maxNameBytes) bytes of UTF-8")
        }
        guard name.unicodeScalars.count <= maxNameScalars else {
            throw ChatError(.badRequest, "name must be at most \(maxNameScalars) characters")
        }
        var combiningRun = 0
        for (index, scalar) in name.unicodeScalars.enumerated() {
            // Printable ASCII is neither a control, a format character nor a combining mark.
            if (0x20...0x7E).contains(scalar.value) {
                combiningRun = 0
                continue
            }
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned:
                throw ChatError(
                    .badRequest,
                    "name must not contain control, invisible or formatting characters (such as zero-width or bidi marks)"
                )
            case .nonspacingMark, .spacingMark, .enclosingMark:
                guard index > 0 else { throw ChatError(.badRequest, "name must not start with a combining mark") }
                combiningRun += 1
                guard combiningRun <= maxCombiningRun else {
                    throw ChatError(.badRequest, "name must not stack more than \(maxCombiningRun) combining marks")
                }
            default:
                combiningRun = 0
            }
        }
        return name
    }

    /// The form under which two display names count as the same: NFKC, case folded, then Cyrillic and
    /// Greek look-alikes of Latin letters made Latin (``NameSkeleton``). "Ａlice", "alice", "ALICE" and
    /// "аlice" (Cyrillic а) share one key; call only with a validated name.
    public static func nameKey(_ name: String) -> String {
        NameSkeleton.latinized(
            name.precomposedStringWithCompatibilityMapping.folding(options: [.caseInsensitive], locale: nil)
        )
    }

    /// The room name trimmed, or why it is refused: 1–32 of `A-Z a-z 0-9 _ -`.
    public static func room(_ raw: String) throws(ChatError) -> String {
        guard raw.utf8.count <= maxRoomLength * 4 else {
            throw ChatError(.badRequest, "room must be at most \(maxRoomLength) characters")
        }
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

    /// The message text as typed, or why it is refused: 1–2000 scalars and at most 8000 UTF-8 bytes,
    /// not only white space, no control characters but tab and newlines, no U+2028/U+2029.
    public static func text(_ raw: String) throws(ChatError) -> String {
        guard raw.utf8.count <= maxTextBytes else {
            throw ChatError(.badRequest, "text must be at most \(maxTextBytes) bytes of UTF-8")
        }
        var scalars = 0
        var blank = true
        for scalar in raw.unicodeScalars {
            scalars += 1
            switch scalar.value {
            case 0x09, 0x0A, 0x0D:
                break
            case 0x00...0x1F, 0x7F, 0x2028, 0x2029:
                throw ChatError(.badRequest, "text must not contain control characters other than tab and newline")
            default:
                if blank, !scalar.properties.isWhitespace { blank = false }
            }
        }
        guard !blank else { throw ChatError(.badRequest, "text must not be empty") }
        guard scalars <= maxTextScalars else {
            throw ChatError(.badRequest, "text must be at most \(maxTextScalars) characters")
        }
        return raw
    }

    /// The password as given, or why it is refused: 1–64 bytes of printable ASCII.
    public static func password(_ raw: String) throws(ChatError) -> String {
        guard !raw.isEmpty else { throw ChatError(.badRequest, "password must not be empty") }
        guard raw.utf8.count <= maxPasswordLength else {
            throw ChatError(.badRequest, "password must be at most \(maxPasswordLength) characters")
        }
        guard raw.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw ChatError(.badRequest, "password must be printable ASCII letters, digits and symbols")
        }
        return raw
    }

    /// Characters of a resume token (``token(_:)``): 128 bits as lowercase hex.
    public static let tokenLength = 32

    /// A resume token as given ("" for none), or why it is refused: exactly ``tokenLength`` lowercase
    /// hex digits, as a join ack gives it.
    public static func token(_ raw: String) throws(ChatError) -> String {
        guard !raw.isEmpty else { return raw }
        guard raw.utf8.count == tokenLength,
            raw.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
        else {
            throw ChatError(
                .badRequest,
                "token must be the \(tokenLength) hex digits a join ack gave; leave it out to join by name"
            )
        }
        return raw
    }

    /// An idempotency key as given ("" for none), or why it is refused: at most 64 bytes of
    /// `A-Z a-z 0-9 _ - . :`. A command repeated with the same key is applied once.
    public static func key(_ raw: String) throws(ChatError) -> String {
        guard raw.utf8.count <= maxKeyLength else {
            throw ChatError(.badRequest, "id must be at most \(maxKeyLength) characters")
        }
        guard raw.utf8.allSatisfy({ isRoomByte($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: ":") }) else {
            throw ChatError(.badRequest, "id may contain only letters, digits, '_', '-', '.' and ':'")
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

/// Cutting text for log lines.
extension String {
    /// At most `maxBytes` bytes of UTF-8 of this string, cut at a scalar boundary, with "…" when cut.
    public func prefix(utf8Bytes maxBytes: Int) -> String {
        guard utf8.count > maxBytes else { return self }
        var bytes = 0
        var end = unicodeScalars.startIndex
        for index in unicodeScalars.indices {
            let size = UTF8.width(unicodeScalars[index])
            guard bytes + size <= maxBytes else { break }
            bytes += size
            end = unicodeScalars.index(after: index)
        }
        return String(unicodeScalars[..<end]) + "…"
    }
}
