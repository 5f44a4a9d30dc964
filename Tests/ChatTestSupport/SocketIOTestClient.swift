import Foundation
import SocketIO

/// A tiny blocking Socket.IO v5 client (Engine.IO v4, WebSocket transport) for end-to-end tests.
///
/// It connects to the default namespace, emits events with ack ids and waits for the acks,
/// collects every server event in arrival order, answers Engine.IO pings, and records the close
/// frame. Anything the server sends that is not a valid ping, ack or event is kept in
/// ``unexpectedFrames`` so tests can assert that nothing invalid arrived.
public final class SocketIOTestClient {
    /// A server event `42["name",argument]`.
    public struct Event: Sendable, Equatable, CustomStringConvertible {
        /// The event name, e.g. `message`.
        public var name: String
        /// The single argument (`.null` when there was none).
        public var argument: JSONValue
        /// The whole Engine.IO text as received, e.g. `42["message",{...}]`.
        public var text: String

        public var description: String { text }
    }

    /// A WebSocket close frame from the server.
    public struct Close: Sendable, Equatable {
        /// The status code, nil when the frame carried none.
        public var code: UInt16?
        /// The reason text (may be empty).
        public var reason: String
    }

    /// Why a step failed.
    public enum Failure: Error, CustomStringConvertible {
        /// The WebSocket upgrade was answered with something other than 101.
        case handshakeRefused(status: Int, body: String)
        /// The server sent something the handshake did not expect.
        case unexpected(String)
        /// Nothing suitable arrived in time.
        case timeout(String)
        /// The connection closed while waiting (with the close frame, if one came).
        case closed(Close?)

        public var description: String {
            switch self {
            case .handshakeRefused(let status, let body): "upgrade refused with \(status): \(body)"
            case .unexpected(let text): "unexpected: \(text)"
            case .timeout(let what): "timed out waiting for \(what)"
            case .closed(let close):
                "connection closed (\(close.map { "\($0.code.map(String.init) ?? "-") \($0.reason)" } ?? "no close frame"))"
            }
        }
    }

    /// The underlying WebSocket connection (for raw frames).
    public let raw: RawTestClient
    /// The Engine.IO session id from the open packet.
    public private(set) var engineSID = ""
    /// The Socket.IO session id from the namespace connect packet `40{"sid":...}`.
    public private(set) var socketSID = ""
    /// Every server event received so far, in arrival order.
    public private(set) var events: [Event] = []
    /// Every text or binary frame that was not a ping, a connect, a well-formed ack or event.
    public private(set) var unexpectedFrames: [String] = []
    /// How many Engine.IO pings were answered.
    public private(set) var pingsAnswered = 0
    /// The close frame, once one arrived.
    public private(set) var close: Close?
    /// True once the TCP connection is gone.
    public private(set) var isClosed = false

    private var acks: [UInt64: JSONValue] = [:]
    private var nextAckID: UInt64 = 1
    private var takenEvents = Set<Int>()

    /// Opens a WebSocket to `/socket.io/?EIO=4&transport=websocket` on `127.0.0.1:port` (with `origin`
    /// as the Origin header, if given), reads the open packet and connects to the default namespace.
    public init(port: Int, origin: String? = nil, timeout: TimeInterval = 5) throws {
        raw = try RawTestClient(port: port, timeoutSeconds: Int(timeout.rounded(.up)))
        let response = try raw.upgrade(host: "127.0.0.1:\(port)", origin: origin)
        guard response.status == 101 else {
            throw Failure.handshakeRefused(status: response.status, body: response.body)
        }
        let open = try raw.readText()
        guard open.hasPrefix("0"), let sid = (try? JSONValue.parse(open.dropFirst()))?["sid"]?.stringValue else {
            throw Failure.unexpected("open packet \(open)")
        }
        engineSID = sid
        raw.sendText("40")
        guard try waitUntil(timeout: timeout, { !$0.socketSID.isEmpty }) else {
            throw Failure.timeout("the namespace connect packet 40{...}")
        }
    }

    // MARK: Sending

    /// Sends `42<ackID>["event",argument]` without waiting; returns the ack id used.
    @discardableResult
    public func emit(_ event: String, _ argument: JSONValue? = nil, ackID: UInt64?) -> UInt64? {
        var data: [JSONValue] = [.string(event)]
        if let argument { data.append(argument) }
        sendRaw("4" + SocketIOPacket(type: .event, ackID: ackID, data: .array(data)).encoded())
        return ackID
    }

    /// Sends an event with a fresh ack id without waiting; returns the id for ``waitForAck(_:timeout:)``.
    public func emitAsync(_ event: String, _ argument: JSONValue? = nil) -> UInt64 {
        let id = nextAckID
        nextAckID += 1
        emit(event, argument, ackID: id)
        return id
    }

    /// Sends an event with a fresh ack id and returns the ack's argument.
    public func emit(_ event: String, _ argument: JSONValue? = nil, timeout: TimeInterval = 5) throws -> JSONValue {
        try waitForAck(emitAsync(event, argument), timeout: timeout)
    }

    /// Sends one text frame exactly as given (the whole Engine.IO packet, e.g. `42[...]`).
    public func sendRaw(_ text: String) {
        raw.sendText(text)
    }

    /// Sends one binary frame.
    public func sendBinary(_ bytes: [UInt8]) {
        raw.send(clientFrame(.binary, bytes))
    }

    /// Drops the TCP connection without a close frame.
    public func disconnect() {
        raw.disconnect()
        isClosed = true
    }

    // MARK: Waiting

    /// Waits for the ack `43<id>[argument]` and returns its argument.
    public func waitForAck(_ id: UInt64, timeout: TimeInterval = 5) throws -> JSONValue {
        guard try waitUntil(timeout: timeout, { $0.acks[id] != nil }), let ack = acks.removeValue(forKey: id) else {
            throw isClosed ? Failure.closed(close) : Failure.timeout("ack \(id)")
        }
        return ack
    }

    /// Returns the first event named `name` (and satisfying `matching`) not returned before,
    /// waiting up to `timeout` seconds for it to arrive.
    public func waitForEvent(
        _ name: String,
        timeout: TimeInterval = 5,
        matching: (JSONValue) -> Bool = { _ in true }
    ) throws -> Event {
        var found: Int?
        _ = try waitUntil(timeout: timeout) { client in
            found = client.events.indices.first { index in
                let event = client.events[index]
                return !client.takenEvents.contains(index) && event.name == name && matching(event.argument)
            }
            return found != nil
        }
        guard let found else {
            throw isClosed
                ? Failure.closed(close) : Failure.timeout("event \(name); last events: \(events.suffix(3).map(\.text))")
        }
        takenEvents.insert(found)
        return events[found]
    }

    /// Reads frames until `condition` holds (true), the connection closes or `timeout` passes (false).
    @discardableResult
    public func waitUntil(timeout: TimeInterval = 5, _ condition: (SocketIOTestClient) -> Bool) throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition(self) {
            if isClosed || Date() >= deadline { return false }
            _ = try readOne(until: deadline)
        }
        return true
    }

    /// Reads and handles everything that arrives during `seconds` (to show that nothing more comes).
    public func listen(for seconds: TimeInterval) throws {
        _ = try waitUntil(timeout: seconds) { _ in false }
    }

    /// Waits for the close frame and the end of the connection; returns the close frame, if any.
    public func waitForClose(timeout: TimeInterval = 5) throws -> Close? {
        _ = try waitUntil(timeout: timeout) { $0.isClosed }
        return close
    }

    // MARK: Reading

    /// Reads and handles one frame; false when none arrived before `deadline`.
    private func readOne(until deadline: Date) throws -> Bool {
        let frame: RawTestClient.Frame
        do {
            guard let next = try raw.readFrame(timeout: max(deadline.timeIntervalSinceNow, 0.001)) else { return false }
            frame = next
        } catch RawTestClient.ClientError.closedByPeer {
            isClosed = true
            return false
        }
        switch frame.opcode {
        case .text:
            handle(text: String(decoding: frame.payload, as: UTF8.self))
        case .connectionClose:
            let code = frame.payload.count >= 2 ? UInt16(frame.payload[0]) << 8 | UInt16(frame.payload[1]) : nil
            close = Close(code: code, reason: String(decoding: frame.payload.dropFirst(2), as: UTF8.self))
            _ = raw.waitForEOF(timeout: 2)
            isClosed = true
        case .ping:
            raw.send(clientFrame(.pong, frame.payload))
        case .pong:
            break
        default:
            unexpectedFrames.append("\(frame.opcode) frame of \(frame.payload.count) bytes")
        }
        return true
    }

    private func handle(text: String) {
        if text.hasPrefix("2") {
            raw.sendText("3" + text.dropFirst())
            pingsAnswered += 1
            return
        }
        guard text.hasPrefix("4"), let packet = try? SocketIOPacket.parse(text.dropFirst(), limits: .trusted),
            packet.namespace == "/"
        else {
            unexpectedFrames.append(text)
            return
        }
        switch packet.type {
        case .connect where socketSID.isEmpty:
            guard let sid = packet.data?["sid"]?.stringValue else { return unexpectedFrames.append(text) }
            socketSID = sid
        case .ack:
            // The server always acknowledges with exactly one object.
            guard let id = packet.ackID, packet.arguments.count == 1, packet.arguments[0].objectValue != nil,
                acks[id] == nil
            else {
                return unexpectedFrames.append(text)
            }
            acks[id] = packet.arguments[0]
        case .event:
            guard packet.ackID == nil, let name = packet.eventName, packet.arguments.count <= 1 else {
                return unexpectedFrames.append(text)
            }
            events.append(Event(name: name, argument: packet.arguments.first ?? .null, text: text))
        default:
            unexpectedFrames.append(text)
        }
    }
}
