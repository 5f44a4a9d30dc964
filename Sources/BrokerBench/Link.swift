import ChatWire
import Foundation
import ZeroMQ

/// One simulated gateway: a DEALER with its routing id.
final class Link {
    let socket: ZMQSocket
    let name: String
    private var requestID: UInt32 = 0

    init(context: ZMQContext, endpoint: String, name: String, curve: ZMQSocketOption?) throws {
        self.name = name
        socket = try context.socket(.dealer)
        if let curve { try socket.set(curve) }
        try socket.set(.routingID(Array(name.utf8)))
        try socket.set(.maxMessageSize(Int64(WireFormat.maxFrameSize)))
        try socket.set(.sendHighWaterMark(0))
        try socket.set(.receiveHighWaterMark(0))
        try socket.set(.linger(milliseconds: 0))
        try socket.connect(endpoint)
    }

    func send(_ body: WireCommand.Body, connection: UInt64 = 0) throws {
        requestID &+= 1
        let command = WireCommand(requestID: requestID, connectionID: connection, body: body)
        _ = try socket.send([command.encoded()])
    }

    /// Sends and waits (up to 5 s) for the reply.
    func call(_ body: WireCommand.Body, connection: UInt64 = 0) throws -> WireReply {
        try send(body, connection: connection)
        let expected = requestID
        let poller = ZMQPoller([.socket(socket)])
        let deadline = DispatchTime.now().uptimeNanoseconds + 5_000_000_000
        while DispatchTime.now().uptimeNanoseconds < deadline {
            guard try poller.poll(timeoutMilliseconds: 100).isReadable(socket) else { continue }
            while let frames = try socket.receive(dontWait: true) {
                if let frame = frames.last, let reply = try? WireReply.decode(frame), reply.requestID == expected {
                    return reply
                }
            }
        }
        throw BenchFailure("no reply to \(body.kind) within 5 s (is the broker at the endpoint, and active?)")
    }
}
