/// A message as acks and events show it: what ``ServerEventEncoder/joinAck(room:seq:members:count:history:complete:byteBudget:)``
/// needs of each kept message (the broker's `ChatMessage` conforms).
public protocol ClientVisibleMessage {
    var seq: UInt64 { get }
    var name: String { get }
    var text: String { get }
    /// Milliseconds since the Unix epoch (`ts`).
    var timestampMilliseconds: Int64 { get }
    var via: ServerEventEncoder.Via? { get }
}

/// The objects of the acks clients get (bare JSON, no prefix; ``ack(id:objectJSON:)`` frames them), the
/// Engine.IO open packet and `/healthz`: with the events, every shape a client sees is written here,
/// by the broker and the gateway alike.
extension ServerEventEncoder {
    /// A create's ack object: `{"room":..,"password":..}` (the only place the plaintext password goes).
    public static func createAck(room: String, password: String) -> [UInt8] {
        var json = JSONWriter(capacity: 40 + room.utf8.count + password.utf8.count)
        json.beginObject()
        json.key("room")
        json.string(room)
        json.key("password")
        json.string(password)
        json.endObject()
        return json.bytes
    }

    /// A message's or a post's ack object: `{"seq":..}`.
    public static func seqAck(_ seq: UInt64) -> [UInt8] {
        var json = JSONWriter(capacity: 24)
        json.beginObject()
        json.key("seq")
        json.uint(seq)
        json.endObject()
        return json.bytes
    }

    /// A leave's ack object: `{"room":..}`.
    public static func leaveAck(room: String) -> [UInt8] {
        var json = JSONWriter(capacity: 16 + room.utf8.count)
        json.beginObject()
        json.key("room")
        json.string(room)
        json.endObject()
        return json.bytes
    }

    /// A join's ack object `{room, seq, members, count, history, complete?}`: `members` as given (the
    /// caller caps them; `count` says how many there are), and the newest messages of `history` (oldest
    /// first) that fit in `byteBudget` for the whole object, oldest first; `complete` (only for a join
    /// with `since`) is false when a message after it is missing: dropped before, or cut here.
    public static func joinAck<Messages: BidirectionalCollection>(
        room: String,
        seq: UInt64,
        members: [String],
        count: Int,
        history: Messages,
        complete: Bool?,
        token: String = "",
        byteBudget: Int
    ) -> [UInt8] where Messages.Element: ClientVisibleMessage {
        var json = joinAckHead(room: room, seq: seq, members: members, count: count, capacity: history.count * 128)
        let written = writeNewest(history, room: room, budget: byteBudget - json.bytes.count - 32, into: &json)
        joinAckTail(&json, complete: complete.map { $0 && written == history.count }, token: token)
        return json.bytes
    }

    /// The ack of a `history` page: `{"room":..,"history":[..],"more":..}`, the newest of `messages`
    /// (oldest first) that fit in `byteBudget`; `more` when some of them did not (ask again before the
    /// first one written).
    public static func historyAck<Messages: BidirectionalCollection>(
        room: String,
        messages: Messages,
        byteBudget: Int
    ) -> [UInt8] where Messages.Element: ClientVisibleMessage {
        var json = JSONWriter(capacity: 64 + room.utf8.count + messages.count * 128)
        json.beginObject()
        json.key("room")
        json.string(room)
        let written = writeNewest(messages, room: room, budget: byteBudget - json.bytes.count - 32, into: &json)
        json.key("more")
        json.bool(written < messages.count)
        json.endObject()
        return json.bytes
    }

    /// Writes `"history":[..]`: the newest messages of `history` that fit in `budget` bytes, each
    /// encoded once, oldest first; returns how many.
    private static func writeNewest<Messages: BidirectionalCollection>(
        _ history: Messages,
        room: String,
        budget: Int,
        into json: inout JSONWriter
    ) -> Int where Messages.Element: ClientVisibleMessage {
        var budget = budget
        var newestFirst: [[UInt8]] = []
        for message in history.reversed() {
            let object = messageObject(message, room: room)
            let size = object.count + 1
            guard size <= budget else { break }
            budget -= size
            newestFirst.append(object)
        }
        json.key("history")
        json.beginArray()
        for object in newestFirst.reversed() { json.raw(object) }
        json.endArray()
        return newestFirst.count
    }

    /// The same ack, byte for byte, with the history's objects encoded before: the newest `newest` of
    /// `encodedHistory` are the history, and those that fit are copied as one slice.
    public static func joinAck(
        room: String,
        seq: UInt64,
        members: [String],
        count: Int,
        encodedHistory: EncodedHistory,
        newest: Int,
        complete: Bool?,
        token: String = "",
        byteBudget: Int
    ) -> [UInt8] {
        var json = joinAckHead(room: room, seq: seq, members: members, count: count, capacity: 0)
        let kept = encodedHistory.newest(newest, fittingIn: byteBudget - json.bytes.count - 32)
        json.reserveCapacity(json.bytes.count + kept.json.count + 32)
        json.key("history")
        json.beginArray()
        if kept.count > 0 { json.raw(kept.json) }
        json.endArray()
        joinAckTail(&json, complete: complete.map { $0 && kept.count == newest }, token: token)
        return json.bytes
    }

    /// The object of `message` of `room` in a join ack's history (``writeMessageObject(_:room:seq:name:text:timestamp:via:)``).
    static func messageObject(_ message: some ClientVisibleMessage, room: String) -> [UInt8] {
        var object = JSONWriter(capacity: message.text.utf8.count + message.name.utf8.count + room.utf8.count + 96)
        writeMessageObject(
            &object,
            room: room,
            seq: message.seq,
            name: message.name,
            text: message.text,
            timestamp: message.timestampMilliseconds,
            via: message.via
        )
        return object.bytes
    }

    /// A join ack up to its `history`: `{"room":..,"seq":..,"members":[..],"count":..`.
    private static func joinAckHead(
        room: String,
        seq: UInt64,
        members: [String],
        count: Int,
        capacity: Int
    ) -> JSONWriter {
        var json = JSONWriter(capacity: 256 + members.count * 24 + capacity)
        json.beginObject()
        json.key("room")
        json.string(room)
        json.key("seq")
        json.uint(seq)
        json.key("members")
        json.beginArray()
        for member in members { json.string(member) }
        json.endArray()
        json.key("count")
        json.int(Int64(count))
        return json
    }

    /// A join ack after its `history`: `complete` when given, the member's resume `token` when not
    /// empty, and the end of the object.
    private static func joinAckTail(_ json: inout JSONWriter, complete: Bool?, token: String) {
        if let complete {
            json.key("complete")
            json.bool(complete)
        }
        if !token.isEmpty {
            json.key("token")
            json.string(token)
        }
        json.endObject()
    }

    /// The Engine.IO open packet (`0` + its JSON), the first frame of every connection.
    public static func open(
        sid: String,
        pingIntervalMilliseconds: Int64,
        pingTimeoutMilliseconds: Int64,
        maxPayload: Int
    )
        -> [UInt8]
    {
        var json = JSONWriter(capacity: 120 + sid.utf8.count)
        json.appendVerbatim(UInt8(ascii: "0"))
        json.beginObject()
        json.key("sid")
        json.string(sid)
        json.key("upgrades")
        json.beginArray()
        json.endArray()
        json.key("pingInterval")
        json.int(pingIntervalMilliseconds)
        json.key("pingTimeout")
        json.int(pingTimeoutMilliseconds)
        json.key("maxPayload")
        json.int(Int64(maxPayload))
        json.endObject()
        return json.bytes
    }

    /// `/healthz`'s body: `{"status":"ok"}` while a broker answers, else `{"status":"broker_unavailable"}`.
    public static func health(brokerReachable: Bool) -> [UInt8] {
        var json = JSONWriter(capacity: 40)
        json.beginObject()
        json.key("status")
        json.string(brokerReachable ? "ok" : "broker_unavailable")
        json.endObject()
        return json.bytes
    }
}
