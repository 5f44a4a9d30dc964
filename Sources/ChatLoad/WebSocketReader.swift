import NIOCore

/// The reading side of a client's WebSocket to a gateway: the upgrade response first, then frames,
/// fragmented messages joined, handed out as ``Event``s. A value per connection, used on its event loop.
public struct WebSocketReader {
    /// What the server sent.
    public enum Event {
        /// `101 Switching Protocols`: frames follow.
        case upgraded
        /// The upgrade was answered with another status (`status` is the response's first line); nothing follows.
        case refused(status: String)
        /// A whole text message (an Engine.IO packet).
        case text(ByteBuffer)
        /// A WebSocket ping with its payload (answer it with a pong of the same payload).
        case ping(ByteBuffer)
        /// A close frame with its code (nil when it had none) and reason; nothing follows.
        case close(code: UInt16?, reason: String)
    }

    private enum Phase {
        case upgrading
        case open
        case done
    }

    private var phase = Phase.upgrading
    private var inbound: ByteBuffer?
    private var fragments: ByteBuffer?

    /// A reader waiting for the upgrade response.
    public init() {}

    /// True once a refusal or a close frame was read: later bytes are ignored.
    public var isDone: Bool { phase == .done }

    /// Takes `incoming` bytes and calls `handle` with each complete event, in order.
    public mutating func read(_ incoming: ByteBuffer, _ handle: (Event) -> Void) {
        var buffer = incoming
        if var held = inbound {
            held.writeBuffer(&buffer)
            buffer = held
        }
        inbound = nil
        if phase == .upgrading {
            switch WebSocketUpgrade.readResponse(from: &buffer) {
            case .incomplete:
                inbound = buffer
                return
            case .switched:
                phase = .open
                handle(.upgraded)
            case .refused(let status):
                phase = .done
                handle(.refused(status: status))
                return
            }
        }
        while phase == .open, let frame = WebSocketFrame.read(from: &buffer) {
            if let event = event(of: frame) { handle(event) }
        }
        if buffer.readableBytes > 0, phase == .open {
            buffer.discardReadBytes()
            inbound = buffer
        }
    }

    private mutating func event(of frame: WebSocketFrame) -> Event? {
        switch WebSocketFrame.Opcode(rawValue: frame.opcode) {
        case .text, .continuation:
            guard !frame.fin || fragments != nil else { return .text(frame.payload) }
            var payload = frame.payload
            if var pendingFragments = fragments {
                pendingFragments.writeBuffer(&payload)
                fragments = pendingFragments
            } else {
                fragments = payload
            }
            guard frame.fin, let whole = fragments else { return nil }
            fragments = nil
            return .text(whole)
        case .ping:
            return .ping(frame.payload)
        case .close:
            var payload = frame.payload
            phase = .done
            let code = payload.readInteger(as: UInt16.self)
            return .close(code: code, reason: payload.readString(length: payload.readableBytes) ?? "")
        case .binary, .pong, .none:
            return nil
        }
    }
}
