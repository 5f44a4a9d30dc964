import ChatAPI
import ChatTestSupport
import ChatWire
import Foundation
import Logging
import NIOCore
import NIOEmbedded
import NIOWebSocket
import XCTest

@testable import GatewayCore

/// Records every delegate call; optionally echoes messages. Used on one event loop only.
final class RecordingDelegate: EngineConnectionDelegate, @unchecked Sendable {
    var opened = 0
    var messages: [String] = []
    var closes: [CloseReason] = []
    var closeReasons: [String] { closes.map(\.description) }
    var echo = false

    func engineConnectionDidOpen(_ connection: EngineConnection) {
        opened += 1
    }

    func engineConnection(_ connection: EngineConnection, didReceiveMessage payload: Substring) {
        messages.append(String(payload))
        if echo { connection.send(message: String(payload)) }
    }

    func engineConnectionDidClose(_ connection: EngineConnection, reason: CloseReason) {
        closes.append(reason)
    }
}

final class EngineConnectionTests: XCTestCase {
    private var channel: EmbeddedChannel!
    private var delegate: RecordingDelegate!
    private var connection: EngineConnection!
    /// Decodes the server's outbound bytes.
    private var clientDecoder: EmbeddedChannel!

    private func start(
        maxPayload: Int = 1_000_000,
        connectTimeout: TimeAmount = .hours(1),
        fragmentTimeout: TimeAmount = .hours(1)
    ) throws {
        delegate = RecordingDelegate()
        channel = EmbeddedChannel()
        let delegate = self.delegate!
        connection = EngineConnection(
            id: 7,
            remoteAddress: "127.0.0.1:5000",
            clientAddress: ClientAddress("127.0.0.1") ?? .unspecified,
            eventLoop: channel.embeddedEventLoop,
            settings: .init(
                pingInterval: .seconds(25),
                pingTimeout: .seconds(20),
                maxPayload: maxPayload,
                connectTimeout: connectTimeout
            ),
            logger: Logger(label: "test"),
            makeDelegate: { _ in delegate }
        )
        // The server's own inbound handlers, in its order.
        try channel.pipeline.syncOperations.addHandlers(
            GatewayServer.engineHandlers(
                connection: connection,
                maxPayload: maxPayload,
                fragmentTimeout: fragmentTimeout
            )
        )
        clientDecoder = EmbeddedChannel()
        try clientDecoder.pipeline.syncOperations.addHandler(
            ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 24))
        )
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 5000)).wait()
    }

    override func tearDown() {
        _ = try? channel?.finish()
        _ = try? clientDecoder?.finish()
    }

    /// Every frame the server wrote since the last call.
    private func sentFrames() throws -> [WebSocketFrame] {
        while let bytes = try channel.readOutbound(as: ByteBuffer.self) {
            try clientDecoder.writeInbound(bytes)
        }
        var frames: [WebSocketFrame] = []
        while let frame = try clientDecoder.readInbound(as: WebSocketFrame.self) {
            frames.append(frame)
        }
        return frames
    }

    private func sentTexts() throws -> [String] {
        try sentFrames().map {
            XCTAssertEqual($0.opcode, .text)
            return String(buffer: $0.data)
        }
    }

    /// Asserts that the server sent exactly one close frame with `code` and closed the channel.
    private func assertClosed(
        with code: WebSocketErrorCode,
        reasonContains: String,
        file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        let frames = try sentFrames()
        XCTAssertEqual(frames.last?.opcode, .connectionClose, file: file, line: line)
        var data = try XCTUnwrap(frames.last?.data, file: file, line: line)
        XCTAssertEqual(data.readWebSocketErrorCode(), code, file: file, line: line)
        XCTAssertFalse(channel.isActive, "channel closed", file: file, line: line)
        XCTAssertEqual(delegate.closeReasons.count, 1, file: file, line: line)
        XCTAssertTrue(
            delegate.closeReasons.first?.contains(reasonContains) == true,
            "\(delegate.closeReasons)",
            file: file,
            line: line
        )
    }

    func testOpenPacketShape() throws {
        try start()
        let texts = try sentTexts()
        XCTAssertEqual(texts.count, 1)
        let open = try XCTUnwrap(texts.first)
        XCTAssertTrue(open.hasPrefix("0{"), open)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(open.utf8.dropFirst())) as? [String: Any])
        let sid = try XCTUnwrap(json["sid"] as? String)
        XCTAssertEqual(sid, connection.sid)
        XCTAssertEqual(sid.count, 20)
        XCTAssertTrue(sid.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }, sid)
        XCTAssertEqual((json["upgrades"] as? [Any])?.count, 0)
        XCTAssertEqual(json["pingInterval"] as? Int, 25000)
        XCTAssertEqual(json["pingTimeout"] as? Int, 20000)
        XCTAssertEqual(json["maxPayload"] as? Int, 1_000_000)
        XCTAssertEqual(json.count, 5)
        XCTAssertEqual(delegate.opened, 1)
        XCTAssertNotEqual(EngineConnection.makeSessionID(), EngineConnection.makeSessionID())
    }

    func testMessagesReachDelegateAndSendWritesFrames() throws {
        try start()
        _ = try sentFrames()
        try channel.writeInbound(clientFrame(.text, "40"))
        try channel.writeInbound(clientFrame(.text, "42[\"hi\",\"é\"]"))
        XCTAssertEqual(delegate.messages, ["0", "2[\"hi\",\"é\"]"])

        connection.send(message: "40{\"sid\":\"x\"}")
        XCTAssertEqual(try sentTexts(), ["440{\"sid\":\"x\"}"])

        let frame = WebSocketFrameBuilder.engineMessageFrame("2[\"message\",{}]")
        connection.write(frame: frame)
        connection.write(frame: frame)
        XCTAssertEqual(try sentTexts(), [], "write(frame:) does not flush")
        connection.flush()
        XCTAssertEqual(try sentTexts(), ["42[\"message\",{}]", "42[\"message\",{}]"])
    }

    func testFragmentedMessageIsReassembled() throws {
        try start()
        _ = try sentFrames()
        let long = String(repeating: "l", count: GatewayServer.minFragmentBytes)
        try channel.writeInbound(clientFrame(.text, "42[\"he" + long, fin: false))
        try channel.writeInbound(clientFrame(.ping, "p"))  // control frames may be interleaved
        try channel.writeInbound(clientFrame(.continuation, long, fin: false))
        XCTAssertEqual(delegate.messages, [])
        try channel.writeInbound(clientFrame(.continuation, "o\"]", fin: true))
        XCTAssertEqual(delegate.messages, ["2[\"he" + long + long + "o\"]"])
        let frames = try sentFrames()
        XCTAssertEqual(frames.map(\.opcode), [.pong])
        XCTAssertEqual(frames.first.map { String(buffer: $0.data) }, "p")
    }

    func testHeartbeatPongKeepsConnectionAndMissingPongCloses() throws {
        try start()
        _ = try sentFrames()
        channel.embeddedEventLoop.advanceTime(by: .seconds(25))
        XCTAssertEqual(try sentTexts(), ["2"])
        try channel.writeInbound(clientFrame(.text, "3"))
        channel.embeddedEventLoop.advanceTime(by: .seconds(24))
        XCTAssertTrue(channel.isActive)
        XCTAssertEqual(try sentTexts(), [])
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        XCTAssertEqual(try sentTexts(), ["2"], "next ping one interval after the pong")
        channel.embeddedEventLoop.advanceTime(by: .seconds(19))
        XCTAssertTrue(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        try assertClosed(with: .policyViolation, reasonContains: "ping timeout")
    }

    func testGarbagePacketCloses() throws {
        try start()
        _ = try sentFrames()
        try channel.writeInbound(clientFrame(.text, "x-not-engine-io"))
        try assertClosed(with: .protocolError, reasonContains: "invalid Engine.IO packet")
        XCTAssertEqual(delegate.messages, [])
    }

    func testEmptyPacketCloses() throws {
        try start()
        _ = try sentFrames()
        try channel.writeInbound(clientFrame(.text, ""))
        try assertClosed(with: .protocolError, reasonContains: "empty")
    }

    func testNoopAndUpgradePacketsAreIgnored() throws {
        try start()
        _ = try sentFrames()
        try channel.writeInbound(clientFrame(.text, "6"))
        try channel.writeInbound(clientFrame(.text, "5"))
        XCTAssertTrue(channel.isActive)
        XCTAssertEqual(try sentFrames().count, 0)
    }

    func testEngineClosePacketCloses() throws {
        try start()
        _ = try sentFrames()
        try channel.writeInbound(clientFrame(.text, "1"))
        try assertClosed(with: .normalClosure, reasonContains: "client closed")
    }

    func testWebSocketCloseIsEchoed() throws {
        try start()
        _ = try sentFrames()
        var payload = ByteBuffer()
        payload.write(webSocketErrorCode: .goingAway)
        try channel.writeInbound(clientFrame(.connectionClose, Array(payload.readableBytesView)))
        try assertClosed(with: .goingAway, reasonContains: "client closed")
        XCTAssertEqual(delegate.closes, [.clientClosed])
    }

    func testCloseCodesAClientMayNotSendAreAnsweredWithProtocolError() throws {
        for (payload, answer): ([UInt8], WebSocketErrorCode) in [
            ([0x0B, 0xB8], .unknown(3000)),  // 3000: registered range, echoed
            ([], .normalClosure),  // no code: answered 1000
            ([0x03], .protocolError),  // 1 byte
            ([0x03, 0xED], .protocolError),  // 1005 may not be sent
            ([0x03, 0xEE], .protocolError),  // 1006 may not be sent
            ([0x03, 0xF7], .protocolError),  // 1015 may not be sent
            ([0x03, 0xE7], .protocolError),  // 999
            ([0x03, 0xE8, 0xC3, 0x28], .protocolError),  // 1000 with a reason that is not UTF-8
        ] {
            try start()
            _ = try sentFrames()
            try channel.writeInbound(clientFrame(.connectionClose, payload))
            let frames = try sentFrames()
            XCTAssertEqual(frames.last?.opcode, .connectionClose, "\(payload)")
            var data = try XCTUnwrap(frames.last?.data)
            XCTAssertEqual(data.readWebSocketErrorCode(), answer, "\(payload)")
            XCTAssertFalse(channel.isActive)
            _ = try? channel.finish()
        }
    }

    func testTypeByteIsSlicedAsABytePacketNotACharacter() throws {
        try start()
        _ = try sentFrames()
        // "4" followed by a combining mark is one Character; the message is everything after the byte.
        try channel.writeInbound(clientFrame(.text, "4\u{301}2[\"x\"]"))
        XCTAssertEqual(delegate.messages, ["\u{301}2[\"x\"]"])
    }

    func testNoNamespaceConnectWithinTheTimeoutCloses() throws {
        try start(connectTimeout: .seconds(20))
        _ = try sentFrames()
        channel.embeddedEventLoop.advanceTime(by: .seconds(19))
        XCTAssertTrue(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        try assertClosed(with: .policyViolation, reasonContains: "no Socket.IO CONNECT within 20 s")
        XCTAssertEqual(delegate.closes, [.idle(.noNamespaceConnect(.seconds(20)))])
    }

    func testNamespaceConnectStopsTheConnectDeadline() throws {
        try start(connectTimeout: .seconds(20))
        connection.namespaceDidConnect()
        channel.embeddedEventLoop.advanceTime(by: .seconds(21))
        XCTAssertTrue(channel.isActive)
        XCTAssertEqual(delegate.closes, [])
    }

    func testUnfinishedFragmentedMessageClosesAfterTheTimeout() throws {
        try start(fragmentTimeout: .seconds(10))
        _ = try sentFrames()
        try channel.writeInbound(clientFrame(.text, "42[\"" + String(repeating: "a", count: 100), fin: false))
        channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        try channel.writeInbound(clientFrame(.ping, "p"))  // answering pings does not extend it
        try channel.writeInbound(clientFrame(.continuation, String(repeating: "b", count: 100), fin: false))
        channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        try assertClosed(with: .policyViolation, reasonContains: "fragmented message not finished within 10 s")
        XCTAssertEqual(delegate.messages, [])
    }

    func testAFinishedFragmentedMessageStopsTheFragmentDeadline() throws {
        try start(fragmentTimeout: .seconds(10))
        _ = try sentFrames()
        try channel.writeInbound(clientFrame(.text, "42[\"" + String(repeating: "a", count: 100), fin: false))
        try channel.writeInbound(clientFrame(.continuation, "\"]", fin: true))
        channel.embeddedEventLoop.advanceTime(by: .seconds(11))
        XCTAssertTrue(channel.isActive)
        XCTAssertEqual(delegate.messages.count, 1)
    }

    func testTinyOrTooManyFragmentsClose() throws {
        try start()
        _ = try sentFrames()
        try channel.writeInbound(clientFrame(.text, "42[", fin: false))
        try assertClosed(with: .protocolError, reasonContains: "small")
        _ = try? channel.finish()

        try start()
        _ = try sentFrames()
        let fragment = String(repeating: "a", count: GatewayServer.minFragmentBytes)
        try channel.writeInbound(clientFrame(.text, fragment, fin: false))
        for _ in 0..<GatewayServer.maxFragments {
            guard channel.isActive else { break }
            try channel.writeInbound(clientFrame(.continuation, fragment, fin: false))
        }
        try assertClosed(with: .protocolError, reasonContains: "fragments")
    }

    func testBinaryFrameCloses1003() throws {
        try start()
        _ = try sentFrames()
        try channel.writeInbound(clientFrame(.binary, [1, 2, 3]))
        try assertClosed(with: .unacceptableData, reasonContains: "binary")
    }

    func testUnmaskedClientFrameCloses() throws {
        try start()
        _ = try sentFrames()
        try channel.writeInbound(clientFrame(.text, Array("42[]".utf8), masked: false))
        try assertClosed(with: .protocolError, reasonContains: "masked")
    }

    func testOversizedFrameCloses1009() throws {
        try start(maxPayload: 100)
        _ = try sentFrames()
        try channel.writeInbound(clientFrame(.text, "4" + String(repeating: "a", count: 100)))
        try assertClosed(with: .messageTooLarge, reasonContains: "maxPayload")
    }

    func testOversizedFragmentedMessageCloses1009() throws {
        try start(maxPayload: 200)
        _ = try sentFrames()
        try channel.writeInbound(clientFrame(.text, "4" + String(repeating: "a", count: 120), fin: false))
        try channel.writeInbound(clientFrame(.continuation, String(repeating: "a", count: 120), fin: true))
        try assertClosed(with: .messageTooLarge, reasonContains: "maxPayload")
        XCTAssertEqual(delegate.messages, [])
    }

    func testInvalidUTF8Closes() throws {
        try start()
        _ = try sentFrames()
        try channel.writeInbound(clientFrame(.text, [UInt8(ascii: "4"), 0xC3, 0x28]))
        try assertClosed(with: .dataInconsistentWithMessage, reasonContains: "UTF-8")
    }

    func testSlowConsumerIsDropped() throws {
        try start()
        _ = try sentFrames()
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        XCTAssertFalse(channel.isActive)
        XCTAssertEqual(delegate.closes, [.slowConsumer])
        connection.send(message: "after close")
        XCTAssertFalse(connection.isOpen)
    }

    func testServerCloseSendsFrameAndReportsReasonOnce() throws {
        try start()
        _ = try sentFrames()
        connection.close(reason: "kicked")
        connection.close(reason: "again")
        try assertClosed(with: .normalClosure, reasonContains: "kicked")
        XCTAssertEqual(delegate.closes, [.session("kicked")])
    }

    func testPeerDisconnectReportsTransportClosed() throws {
        try start()
        channel.pipeline.fireChannelInactive()
        XCTAssertEqual(delegate.closes, [.transportClosed])
    }
}
