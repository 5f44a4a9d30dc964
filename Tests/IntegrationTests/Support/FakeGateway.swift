import ChatWire
import Foundation
import XCTest
import ZeroMQ

/// The broker's view of a gateway, driven by a test over real ZeroMQ sockets: a DEALER for
/// commands and a SUB for room broadcasts, exactly as a gateway connects.
final class FakeGateway {
    let name: String
    private let commands: ZMQSocket
    private let broadcasts: ZMQSocket
    private var nextRequestID: UInt32 = 1
    /// Replies that arrived while waiting for another one.
    private var strayReplies: [WireReply] = []

    init(context: ZMQContext, name: String, commandsEndpoint: String, broadcastsEndpoint: String) throws {
        self.name = name
        commands = try context.socket(.dealer)
        try commands.set(.routingID(Array(name.utf8)))
        try commands.connect(commandsEndpoint)
        broadcasts = try context.socket(.sub)
        try broadcasts.connect(broadcastsEndpoint)
    }

    deinit {
        commands.close()
        broadcasts.close()
    }

    /// Sends raw frames as the command (for malformed input).
    func sendRaw(_ frames: [[UInt8]]) throws {
        try commands.send(frames)
    }

    /// Sends `body` for `connection` and waits for its reply.
    func request(
        _ body: WireCommand.Body,
        connection: UInt64 = 0,
        client: String = "",
        timeout: TimeInterval = 5
    ) throws -> WireReply {
        let requestID = try send(body, connection: connection, client: client)
        return try XCTUnwrap(
            nextReply(timeout: timeout) { $0.requestID == requestID },
            "no reply to \(body) within \(timeout) s"
        )
    }

    /// Sends `body` for `connection` (stamped `sentAt` on the gateway's clock, with `ttl`) without
    /// waiting; returns its request id.
    @discardableResult
    func send(
        _ body: WireCommand.Body,
        connection: UInt64 = 0,
        client: String = "",
        sentAt: UInt64 = 0,
        ttl: UInt32 = 0
    ) throws -> UInt32 {
        let requestID = nextRequestID
        nextRequestID += 1
        let command = WireCommand(
            requestID: requestID,
            connectionID: connection,
            client: client,
            sentAt: sentAt,
            ttl: ttl,
            body: body
        )
        try commands.send([command.encoded()])
        return requestID
    }

    /// The next reply that satisfies `matching`, or nil after `timeout`.
    func nextReply(timeout: TimeInterval = 5, matching: (WireReply) -> Bool = { _ in true }) throws -> WireReply? {
        if let index = strayReplies.firstIndex(where: matching) { return strayReplies.remove(at: index) }
        let deadline = Date().addingTimeInterval(timeout)
        let poller = ZMQPoller([.socket(commands)])
        while Date() < deadline {
            guard try poller.poll(timeoutMilliseconds: 50).isReadable(commands) else { continue }
            while let frames = try commands.receive(dontWait: true) {
                XCTAssertEqual(frames.count, 1, "a reply is one frame")
                let reply = try WireReply.decode(frames[0])
                if matching(reply) { return reply }
                strayReplies.append(reply)
            }
        }
        return nil
    }

    /// Subscribes to `room`'s broadcasts. libzmq applies it asynchronously: what is published
    /// before it reaches the broker is missed, and gateways fill such gaps by sequence number.
    func subscribe(_ room: String) throws {
        try broadcasts.subscribe(WireFormat.topic(room: room))
    }

    /// The next broadcast within `timeout`, or nil.
    func nextBroadcast(timeout: TimeInterval = 5) throws -> WireBroadcast? {
        let poller = ZMQPoller([.socket(broadcasts)])
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try poller.poll(timeoutMilliseconds: 50).isReadable(broadcasts),
                let frames = try broadcasts.receive(dontWait: true)
            {
                return try WireBroadcast.decode(frames)
            }
        }
        return nil
    }

    /// Every broadcast that arrives within `timeout`.
    func drainBroadcasts(timeout: TimeInterval) throws -> [WireBroadcast] {
        var all: [WireBroadcast] = []
        while let next = try nextBroadcast(timeout: timeout) { all.append(next) }
        return all
    }
}

extension WireReply {
    /// The success fields, failing the test on a refusal.
    func success(file: StaticString = #filePath, line: UInt = #line) throws -> Success {
        switch result {
        case .success(let success): return success
        case .failure(let error):
            XCTFail("unexpected refusal \(error)", file: file, line: line)
            throw error
        }
    }

    /// The refusal, or nil on success.
    var failure: ChatError? {
        if case .failure(let error) = result { return error }
        return nil
    }
}
