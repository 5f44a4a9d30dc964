/// A membership that a dropped connection keeps for the session grace (for its log line).
public struct AwayMember: Equatable, Sendable, Codable {
    /// The room.
    public var room: String
    /// The member's name there.
    public var name: String

    /// Member `name` of `room`.
    public init(room: String, name: String) {
        self.room = room
        self.name = name
    }
}
