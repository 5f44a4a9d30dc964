/// Builds the frames the server sends, ready for a WebSocket text frame.
///
/// Every function named after a packet returns the whole Engine.IO text, *including* the
/// Engine.IO message prefix `4` (so `42[...]`, `43<id>[...]`, `40{...}`, `44...`).
/// `errorObject` and `writeMessageObject` write bare JSON, with no prefix.
/// Frames are for the default namespace `/` unless a namespace is passed.
public enum ServerEventEncoder: Sendable {
    /// Where a message came from, when not from a member over the WebSocket: written as `"via"`.
    public enum Via: String, Sendable, Codable {
        /// Posted with `POST /api/rooms/{room}/messages` by someone who knows the password but is not
        /// a member: clients show it marked, so it cannot pass for a member's message.
        case http
    }

    /// The `message` event: `42["message",{"room":..,"seq":..,"name":..,"text":..,"ts":..}]`, with
    /// `,"via":"http"` after `ts` for a message posted over HTTP.
    public static func message(
        room: String,
        seq: UInt64,
        name: String,
        text: String,
        timestamp: Int64,
        via: Via? = nil
    ) -> [UInt8] {
        event("message", capacity: 112 + room.utf8.count + name.utf8.count + text.utf8.count) { writer in
            writeMessageObject(&writer, room: room, seq: seq, name: name, text: text, timestamp: timestamp, via: via)
        }
    }

    /// The `joined` event, sent to the members already in the room: who joined and how many members
    /// the room has now (never the member list, which only the join ack carries):
    /// `42["joined",{"room":..,"seq":..,"name":..,"count":..}]`.
    public static func joined(room: String, seq: UInt64, name: String, count: Int) -> [UInt8] {
        presence("joined", room: room, seq: seq, name: name, count: count)
    }

    /// The `left` event, sent to the remaining members: `42["left",{"room":..,"seq":..,"name":..,"count":..}]`.
    public static func left(room: String, seq: UInt64, name: String, count: Int) -> [UInt8] {
        presence("left", room: room, seq: seq, name: name, count: count)
    }

    /// The `resumed` event, sent to the other members when a disconnected member's session is taken
    /// over by a new connection (not a new arrival): `42["resumed",{"room":..,"seq":..,"name":..,"count":..}]`.
    public static func resumed(room: String, seq: UInt64, name: String, count: Int) -> [UInt8] {
        presence("resumed", room: room, seq: seq, name: name, count: count)
    }

    /// The `removed` event, sent only to a connection whose membership another connection took over
    /// with the member's resume token: `42["removed",{"room":..,"name":..,"reason":"taken_over"}]`. The
    /// connection is no longer in the room.
    public static func removed(room: String, name member: String) -> [UInt8] {
        event("removed", capacity: 80 + room.utf8.count + member.utf8.count) { writer in
            writer.beginObject()
            writer.key("room")
            writer.string(room)
            writer.key("name")
            writer.string(member)
            writer.key("reason")
            writer.string("taken_over")
            writer.endObject()
        }
    }

    /// An ack carrying one already-encoded JSON object: `43<id>[<object>]`.
    public static func ack(id: UInt64, objectJSON: [UInt8]) -> [UInt8] {
        var writer = JSONWriter(capacity: 24 + objectJSON.count)
        writer.appendVerbatim(engineMessage)
        SocketIOPacket.writeHeader(type: .ack, namespace: "/", ackID: id, into: &writer)
        writer.beginArray()
        writer.raw(objectJSON)
        writer.endArray()
        return writer.bytes
    }

    /// A failure ack object (bare JSON, no prefix): `{"error":<message>,"code":<code>}`.
    public static func errorObject(code: String, message: String) -> [UInt8] {
        var writer = JSONWriter(capacity: 32 + code.utf8.count + message.utf8.count)
        writer.beginObject()
        writer.key("error")
        writer.string(message)
        writer.key("code")
        writer.string(code)
        writer.endObject()
        return writer.bytes
    }

    /// The answer to a namespace connect: `40{"sid":<sid>}`, or `40{"sid":<sid>,"pid":<pid>}` with
    /// connection-state recovery (`pid`: the session's private id, which the client sends back to resume).
    public static func connectAck(sid: String, pid: String? = nil) -> [UInt8] {
        var writer = JSONWriter(capacity: 24 + sid.utf8.count + (pid?.utf8.count ?? 0))
        writer.appendVerbatim(engineMessage)
        SocketIOPacket.writeHeader(type: .connect, namespace: "/", ackID: nil, into: &writer)
        writer.beginObject()
        writer.key("sid")
        writer.string(sid)
        if let pid {
            writer.key("pid")
            writer.string(pid)
        }
        writer.endObject()
        return writer.bytes
    }

    /// An event frame with connection-state recovery's `offset` appended as its last argument:
    /// `42["message",{…}]` becomes `42["message",{…},"<offset>"]`. A payload that does not end with
    /// `]` (not an event) is returned unchanged.
    public static func appendingOffset(_ offset: RecoveryOffset, to payload: [UInt8]) -> [UInt8] {
        guard payload.last == ASCII.closeBracket else { return payload }
        var writer = JSONWriter(capacity: payload.count + 32)
        writer.appendVerbatim(contentsOf: payload.dropLast())
        writer.appendVerbatim(ASCII.comma)
        writer.string(offset.text)
        writer.appendVerbatim(ASCII.closeBracket)
        return writer.bytes
    }

    /// A refused namespace connect: `44/nsp,{"message":<message>}` (`44{...}` for `/`).
    /// `namespace` is written as is: pass one read by `SocketIOPacket.parse` (it has no comma).
    public static func connectError(namespace: String, message: String) -> [UInt8] {
        var writer = JSONWriter(capacity: 24 + namespace.utf8.count + message.utf8.count)
        writer.appendVerbatim(engineMessage)
        SocketIOPacket.writeHeader(type: .connectError, namespace: namespace, ackID: nil, into: &writer)
        writer.beginObject()
        writer.key("message")
        writer.string(message)
        writer.endObject()
        return writer.bytes
    }

    /// Writes a message object `{"room","seq","name","text","ts"}` (plus `"via"` when given; bare
    /// JSON), as in the `message` event and in a join ack's `history`.
    public static func writeMessageObject(
        _ writer: inout JSONWriter,
        room: String,
        seq: UInt64,
        name: String,
        text: String,
        timestamp: Int64,
        via: Via? = nil
    ) {
        writer.beginObject()
        writer.key("room")
        writer.string(room)
        writer.key("seq")
        writer.uint(seq)
        writer.key("name")
        writer.string(name)
        writer.key("text")
        writer.string(text)
        writer.key("ts")
        writer.int(timestamp)
        if let via {
            writer.key("via")
            writer.string(via.rawValue)
        }
        writer.endObject()
    }

    /// The Engine.IO message packet type, in front of every Socket.IO packet.
    private static let engineMessage = UInt8(ascii: "4")

    private static func presence(_ event: String, room: String, seq: UInt64, name member: String, count: Int) -> [UInt8]
    {
        self.event(event, capacity: 80 + room.utf8.count + member.utf8.count) { writer in
            writer.beginObject()
            writer.key("room")
            writer.string(room)
            writer.key("seq")
            writer.uint(seq)
            writer.key("name")
            writer.string(member)
            writer.key("count")
            writer.int(Int64(count))
            writer.endObject()
        }
    }

    /// `42["<name>",<argument written by body>]`.
    private static func event(_ name: String, capacity: Int, body: (inout JSONWriter) -> Void) -> [UInt8] {
        var writer = JSONWriter(capacity: capacity)
        writer.appendVerbatim(engineMessage)
        SocketIOPacket.writeHeader(type: .event, namespace: "/", ackID: nil, into: &writer)
        writer.beginArray()
        writer.string(name)
        body(&writer)
        writer.endArray()
        return writer.bytes
    }
}
