/// Why a client event could not be decoded; sent back to the client in its failure ack.
public enum ClientEventError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The event name is not one the server knows.
    case unknownEvent(String)
    /// The event's argument has the wrong shape; `message` names the field to fix.
    case badRequest(String)

    /// The stable snake_case code sent in `{"error": ..., "code": ...}`: `unknown_event` or `bad_request`.
    public var code: String {
        switch self {
        case .unknownEvent: "unknown_event"
        case .badRequest: "bad_request"
        }
    }

    /// A message that tells the client what to fix.
    public var description: String {
        switch self {
        case .unknownEvent(let name):
            "Unknown event \"\(Self.cut(name, bytes: 64))\": the events are \(Self.eventNames)."
        case .badRequest(let message):
            message
        }
    }

    /// The known event names, as a sentence: "create, join, leave, message and rooms".
    private static let eventNames: String = {
        let names = ClientEvent.Name.allCases.map(\.rawValue)
        return names.dropLast().joined(separator: ", ") + (names.count > 1 ? " and " : "") + (names.last ?? "")
    }()

    /// At most `bytes` bytes of UTF-8 of `text`, cut at a scalar boundary: an echoed name stays
    /// short however many combining marks one of its characters carries.
    private static func cut(_ text: String, bytes: Int) -> String {
        var result = String.UnicodeScalarView()
        var used = 0
        for scalar in text.unicodeScalars {
            used += UTF8.width(scalar)
            guard used <= bytes else { break }
            result.append(scalar)
        }
        return String(result)
    }
}
