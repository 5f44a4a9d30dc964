import Foundation
import XCTest

@testable import ZeroMQ

/// CURVE and the ZAP handler on real sockets (ipc://, as between processes): only a client whose key
/// the handler allows, and that pins the server's real key, gets through.
final class CurveSocketTests: XCTestCase {
    func testOnlyAnAllowedClientThatPinsTheServersKeyGetsThrough() throws {
        let endpoint = "ipc://" + NSTemporaryDirectory() + "curve-\(UUID().uuidString.prefix(8))"
        let server = try CurveKeyPair.generate()
        let allowed = try CurveKeyPair.generate()
        let stranger = try CurveKeyPair.generate()

        let serverContext = try ZMQContext()
        let zap = try ZAPHandler(
            context: serverContext,
            authorizer: ZAPAuthorizer(allowLists: ["test": [allowed.publicKey: "allowed"]])
        )
        let router = try serverContext.socket(.router)
        try router.set(.curveServer(server))
        try router.set(.zapDomain("test"))
        try router.bind(endpoint)

        let clientContext = try ZMQContext()
        var clients: [ZMQSocket] = []
        func client(_ name: String, _ security: ZMQSocketOption?) throws {
            let dealer = try clientContext.socket(.dealer)
            if let security { try dealer.set(security) }
            try dealer.set(.routingID(Array(name.utf8)))
            try dealer.connect(endpoint)
            try dealer.send([Array("hello from \(name)".utf8)])
            clients.append(dealer)
        }
        try client("allowed", .curveClient(allowed, serverKey: server.publicKey))
        try client("stranger", .curveClient(stranger, serverKey: server.publicKey))
        try client("plain", nil)
        try client("wrong-pin", .curveClient(allowed, serverKey: stranger.publicKey))

        var received: [String] = []
        var decisions: [ZAPDecision] = []
        let poller = ZMQPoller([.socket(router), .socket(zap.socket)])
        let deadline = Date().addingTimeInterval(10)
        var settleUntil: Date?
        while Date() < (settleUntil ?? deadline) {
            let readable = try poller.poll(timeoutMilliseconds: 50)
            if readable.isReadable(zap.socket) { decisions += try zap.answerPending() }
            if readable.isReadable(router) {
                while let frames = try router.receive(dontWait: true) {
                    received.append(String(decoding: frames[0], as: UTF8.self))
                    try router.send([frames[0], Array("welcome".utf8)])
                }
            }
            // Once the allowed client is through, give the others a while to (fail to) get in.
            if settleUntil == nil, !received.isEmpty, decisions.contains(where: { $0.refusal == .unknownKey }) {
                settleUntil = Date().addingTimeInterval(1)
            }
        }
        XCTAssertEqual(received, ["allowed"], "only the allowed client's message arrives")
        XCTAssertTrue(decisions.contains { $0.allowed && $0.name == "allowed" }, "\(decisions)")
        XCTAssertTrue(decisions.contains { $0.refusal == .unknownKey && $0.key == stranger.publicKey }, "\(decisions)")
        XCTAssertFalse(decisions.contains { $0.allowed && $0.key != allowed.publicKey }, "\(decisions)")
        let answer =
            try ZMQPoller([.socket(clients[0])]).poll(timeoutMilliseconds: 5_000).isReadable(clients[0])
            ? try clients[0].receive() : nil
        XCTAssertEqual(answer, [Array("welcome".utf8)])

        for socket in clients { socket.close() }
        router.close()
        zap.close()
    }

    func testAMessageCarriesTheUserIDOfItsKey() throws {
        let context = try ZMQContext()
        let allowed = try CurveKeyPair.generate()
        let (router, zap, keys, endpoint) = try server(.router, maxMessageSize: 1_024, allowed: allowed, in: context)
        let dealer = try context.socket(.dealer)
        try dealer.set(.curveClient(allowed, serverKey: keys.publicKey))
        try dealer.set(.routingID(Array("allowed/1".utf8)))
        try dealer.connect(endpoint)
        try dealer.send([Array("hi".utf8)])
        let poller = ZMQPoller([.socket(router), .socket(zap.socket)])
        var message: ZMQMessage?
        let deadline = Date().addingTimeInterval(10)
        while message == nil, Date() < deadline {
            let readable = try poller.poll(timeoutMilliseconds: 20)
            if readable.isReadable(zap.socket) { _ = try zap.answerPending() }
            if readable.isReadable(router) { message = try router.receiveMessage(dontWait: true) }
        }
        let received = try XCTUnwrap(message)
        XCTAssertEqual(received.frames, [Array("allowed/1".utf8), Array("hi".utf8)])
        XCTAssertEqual(received.userID, ZAPAuthorizer.userID(of: allowed.publicKey))
        XCTAssertTrue(received.connection.descriptor >= 0)
        dealer.close()
        router.close()
        zap.close()
    }

    /// A CURVE server socket with its ZAP handler allowing `allowed`, bound to a fresh ipc:// endpoint.
    private func server(
        _ type: ZMQSocketType,
        maxMessageSize: Int64,
        allowed: CurveKeyPair,
        in context: ZMQContext
    )
        throws -> (socket: ZMQSocket, zap: ZAPHandler, keys: CurveKeyPair, endpoint: String)
    {
        let keys = try CurveKeyPair.generate()
        let zap = try ZAPHandler(
            context: context,
            authorizer: ZAPAuthorizer(allowLists: ["test": [allowed.publicKey: "allowed"]])
        )
        let socket = try context.socket(type)
        try socket.set(.curveServer(keys))
        try socket.set(.zapDomain("test"))
        try socket.set(.maxMessageSize(maxMessageSize))
        let endpoint = "ipc://" + NSTemporaryDirectory() + "curve-\(UUID().uuidString.prefix(8))"
        try socket.bind(endpoint)
        return (socket, zap, keys, endpoint)
    }

    /// Polls `socket` (answering ZAP requests) until a message arrives or `seconds` pass.
    private func nextMessage(_ socket: ZMQSocket, zap: ZAPHandler, within seconds: TimeInterval) throws -> [[UInt8]]? {
        let poller = ZMQPoller([.socket(socket), .socket(zap.socket)])
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let readable = try poller.poll(timeoutMilliseconds: 20)
            if readable.isReadable(zap.socket) { _ = try zap.answerPending() }
            if readable.isReadable(socket), let frames = try socket.receive(dontWait: true) { return frames }
        }
        return nil
    }

    func testTheSizeLimitCountsThePlaintextOfACurveMessage() throws {
        let limit: Int64 = 4_096
        let client = try CurveKeyPair.generate()
        let context = try ZMQContext()
        let server = try server(.router, maxMessageSize: limit, allowed: client, in: context)
        let dealer = try context.socket(.dealer)
        try dealer.set(.maxMessageSize(limit))
        try dealer.set(.curveClient(client, serverKey: server.keys.publicKey))
        try dealer.connect(server.endpoint)
        try dealer.send([[UInt8](repeating: 1, count: Int(limit))])
        XCTAssertEqual(
            try nextMessage(server.socket, zap: server.zap, within: 10)?.last?.count,
            Int(limit),
            "a part of exactly the limit passes"
        )
        try dealer.send([[UInt8](repeating: 2, count: Int(limit) + 1)])
        XCTAssertNil(
            try nextMessage(server.socket, zap: server.zap, within: 1),
            "a part one byte over the limit is refused"
        )
        dealer.close()
        server.socket.close()
        server.zap.close()
    }

    func testASmallLimitStillLetsTheHandshakeThrough() throws {
        // The broker's XPUB takes only subscriptions (256 bytes); CURVE's INITIATE command is larger than
        // a limit that small plus CURVE's framing.
        let client = try CurveKeyPair.generate()
        let context = try ZMQContext()
        let server = try server(.xpub, maxMessageSize: 16, allowed: client, in: context)
        let subscriber = try context.socket(.sub)
        try subscriber.set(.curveClient(client, serverKey: server.keys.publicKey))
        try subscriber.set(.routingID([UInt8](repeating: 0x41, count: 255)))
        try subscriber.connect(server.endpoint)
        try subscriber.subscribe(Array("room/lobby/".utf8))
        XCTAssertEqual(try nextMessage(server.socket, zap: server.zap, within: 10), [[1] + Array("room/lobby/".utf8)])
        subscriber.close()
        server.socket.close()
        server.zap.close()
    }
}
