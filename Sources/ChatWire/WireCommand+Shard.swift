extension WireCommand.Body {
    /// The room this command is about, which decides its shard (``Shard``); nil for commands about no
    /// single room (hello, heartbeat, listRooms, disconnect, resume, status) and for a `create` that lets the
    /// broker pick the name (an empty or blank `room`).
    public var room: String? {
        switch self {
        case .create(_, let room, _):
            return room.utf8.count <= FieldValidator.maxRoomLength && room.trimmingWhitespace().isEmpty ? nil : room
        case .join(let room, _, _, _, _, _), .leave(let room), .message(let room, _, _), .post(let room, _, _, _, _),
            .replay(let room, _, _), .history(let room, _):
            return room
        case .hello, .heartbeat, .listRooms, .disconnect, .resume, .status:
            return nil
        }
    }
}
