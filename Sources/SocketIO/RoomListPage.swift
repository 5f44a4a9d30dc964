/// One page of the room list as clients get it, `{"rooms":[{"room","members","created"}],"next"}`: what
/// the broker answers `listRooms` with, and what a gateway over several shards merges their pages into.
public struct RoomListPage: Sendable, Equatable {
    /// One room of the list: never its password.
    public struct Entry: Sendable, Equatable {
        /// The room's name.
        public var room: String
        /// How many members it has.
        public var members: Int
        /// When it was created, ms since the Unix epoch.
        public var created: UInt64

        /// The entry of `room`.
        public init(room: String, members: Int, created: UInt64) {
            self.room = room
            self.members = members
            self.created = created
        }
    }

    /// A page that is not what a broker writes.
    public enum Invalid: Error, Equatable {
        /// Not JSON (within the trusted caps).
        case json(JSONParseError)
        /// JSON, but not of the page's shape.
        case shape
    }

    /// Rooms on a page asked for with limit 0 (none given).
    public static let defaultLimit = 100

    /// The rooms, sorted by name.
    public var rooms: [Entry]
    /// The name to continue after (the last room of this page), or nil on the last page.
    public var next: String?

    /// A page of `rooms` followed by `next`.
    public init(rooms: [Entry], next: String?) {
        self.rooms = rooms
        self.next = next
    }

    /// Reads a page a broker wrote (``json``).
    public init(json: [UInt8]) throws(Invalid) {
        let value: JSONValue
        do {
            value = try JSONValue.parse(json, limits: .trusted)
        } catch {
            throw .json(error)
        }
        guard let list = value["rooms"]?.arrayValue, let next = value["next"], next.isNull || next.stringValue != nil
        else {
            throw .shape
        }
        var rooms: [Entry] = []
        rooms.reserveCapacity(list.count)
        for item in list {
            guard let room = item["room"]?.stringValue, let members = item["members"]?.int64Value,
                let created = item["created"]?.int64Value, members >= 0, created >= 0
            else { throw .shape }
            rooms.append(Entry(room: room, members: Int(members), created: UInt64(created)))
        }
        self.init(rooms: rooms, next: next.stringValue)
    }

    /// The page as JSON, in the key order clients have always seen.
    public var json: [UInt8] {
        var json = JSONWriter(capacity: 64 + rooms.count * 80)
        json.beginObject()
        json.key("rooms")
        json.beginArray()
        for entry in rooms {
            json.beginObject()
            json.key("room")
            json.string(entry.room)
            json.key("members")
            json.int(Int64(entry.members))
            json.key("created")
            json.uint(entry.created)
            json.endObject()
        }
        json.endArray()
        json.key("next")
        if let next { json.string(next) } else { json.null() }
        json.endObject()
        return json.bytes
    }

    /// The first `limit` rooms of the union of `pages`, each a page of the same request (`limit` rooms
    /// after the same name) from one shard. Shards own disjoint rooms, so the union holds the first
    /// `limit` rooms of all: `next` is set when any shard has more, or the union is longer than `limit`.
    public static func merging(_ pages: [RoomListPage], limit: Int) -> RoomListPage {
        let all = pages.flatMap(\.rooms).sorted { $0.room < $1.room }
        let page = Array(all.prefix(max(0, limit)))
        let more = all.count > page.count || pages.contains { $0.next != nil }
        return RoomListPage(rooms: page, next: more ? page.last?.room : nil)
    }
}
