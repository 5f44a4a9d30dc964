/// The Socket.IO v5 packet type: the first digit of a Socket.IO packet.
public enum SocketIOPacketType: Int, Sendable, CaseIterable {
    /// `0`: connect to a namespace (client), or its acknowledgement (server).
    case connect = 0
    /// `1`: leave a namespace.
    case disconnect = 1
    /// `2`: an event, `["name", args...]`.
    case event = 2
    /// `3`: the answer to an event sent with an ack id.
    case ack = 3
    /// `4`: the server refused the connection to a namespace.
    case connectError = 4
    /// `5`: an event with binary attachments (not supported by this server).
    case binaryEvent = 5
    /// `6`: an ack with binary attachments (not supported by this server).
    case binaryAck = 6

    /// The ASCII digit that starts a packet of this type.
    var digit: UInt8 { ASCII.zero + UInt8(rawValue) }
}
