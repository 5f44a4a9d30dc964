import ChatTestSupport
import GatewayTestSupport
import Logging
import NIOCore
import NIOEmbedded
import NIOWebSocket
import SocketIO
import XCTest

@testable import GatewayCore

/// How a `SocketIOSession` takes in client frames: the per-frame token bucket before parsing, the
/// closing of flooding and misbehaving connections, the read pause while the bucket is empty, and the
/// strict parser's refusals, as a client sees them (acks, close frames, reads of its socket), on an
/// `EmbeddedChannel` with an injected monotonic clock.
final class SessionIntakeTests: XCTestCase {
    /// The session's clock, moved by hand; it starts at the event loop's time.
    private final class Clock: @unchecked Sendable {
        var now: NIODeadline
        init(start: NIODeadline) { now = start }
        func advance(_ amount: TimeAmount) { now = now + amount }
    }

    private var channel: EmbeddedChannel!
    private var client: EmbeddedGatewayClient!
    private var clock: Clock!
    private var link: FakeBrokerClient!
    private var connection: EngineConnection!

    override func setUpWithError() throws {
        let loop = EmbeddedEventLoop()
        let clock = Clock(start: loop.now)
        self.clock = clock
        // Commands that get this far wait unanswered.
        let link = FakeBrokerClient()
        self.link = link
        let metrics = GatewayMetrics()
        let rooms = LoopRooms(eventLoop: loop, metrics: metrics)
        client = try EmbeddedGatewayClient(id: 7, loop: loop) { connection in
            SocketIOSession(
                connection: connection,
                link: link,
                rooms: rooms,
                metrics: metrics,
                logger: Logger(label: "test"),
                now: { clock.now }
            )
        }
        channel = client.channel
        connection = client.connection
        try client.connect()
        XCTAssertEqual(try sentTexts().count, 1, "the open packet")
        try send("40")
        XCTAssertEqual(try sentTexts().map { $0.hasPrefix("40{\"sid\"") }, [true])
    }

    override func tearDown() {
        client?.finish()
    }

    // MARK: Helpers

    private func send(_ text: String) throws {
        try client.send(text)
    }

    private func sentFrames() throws -> [WebSocketFrame] {
        try client.frames()
    }

    private func sentTexts() throws -> [String] {
        try sentFrames().map { String(buffer: $0.data) }
    }

    /// The `code` of each error ack sent since the last call, e.g. `["not_member"]`.
    private func ackCodes() throws -> [String] {
        try sentTexts().map { text in
            guard let bracket = text.firstIndex(of: "[") else { return "not an ack: \(text)" }
            let ack = try JSONValue.parse(text[bracket...])
            return ack[0]?["code"]?.stringValue ?? "no code: \(text)"
        }
    }

    private func assertClosed(
        with code: WebSocketErrorCode,
        reasonContains: String,
        file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        let frames = try sentFrames()
        XCTAssertEqual(
            frames.last?.opcode,
            .connectionClose,
            "\(frames.map { String(buffer: $0.data) })",
            file: file,
            line: line
        )
        var data = try XCTUnwrap(frames.last?.data, file: file, line: line)
        XCTAssertEqual(data.readWebSocketErrorCode(), code, file: file, line: line)
        let reason = String(buffer: data)
        XCTAssertTrue(reason.contains(reasonContains), reason, file: file, line: line)
        XCTAssertFalse(channel.isActive, "channel closed", file: file, line: line)
    }

    /// A frame that parses and is answered without the broker: `not_member`.
    private func leave(ackID: Int) -> String { #"42\#(ackID)["leave",{"room":"r"}]"# }

    /// Spends the rest of the burst (the `40` took one token) on answered frames.
    private func exhaustBurst() throws {
        for id in 1..<SocketIOSession.frameBurst { try send(leave(ackID: id)) }
        XCTAssertEqual(try ackCodes(), Array(repeating: "not_member", count: SocketIOSession.frameBurst - 1))
    }

    // MARK: Rate limit per frame, before parsing

    func testFramesOverTheLimitAreNotParsedAndAnsweredRateLimitedByTheirLeadingAckID() throws {
        try exhaustBurst()
        try send(#"4277["x",1,"#)  // malformed, but refused before it is read
        XCTAssertEqual(try ackCodes(), ["rate_limited"])
        try send(#"42["leave",{"room":"r"}]"#)  // no ack id: dropped silently
        try send(#"42/x,5["leave"]"#)  // the ack id is not in the leading digits: dropped
        XCTAssertEqual(try sentTexts(), [])
        XCTAssertTrue(channel.isActive)

        clock.advance(.milliseconds(49))
        try send(leave(ackID: 1))
        XCTAssertEqual(try ackCodes(), ["rate_limited"], "less than one token after 49 ms at 20/s")
        clock.advance(.milliseconds(1))
        try send(leave(ackID: 2))
        XCTAssertEqual(try ackCodes(), ["not_member"], "one token after 50 ms")
        clock.advance(.seconds(60))
        for id in 0..<SocketIOSession.frameBurst { try send(leave(ackID: id)) }
        try send(leave(ackID: 99))
        XCTAssertEqual(
            try ackCodes(),
            Array(repeating: "not_member", count: SocketIOSession.frameBurst) + ["rate_limited"],
            "never more than the burst"
        )
    }

    func testFloodingCloses200RefusedFramesWithin10Seconds() throws {
        try exhaustBurst()
        // 199 refused, with admitted frames between them (they do not reset the count): not yet.
        for index in 1..<SocketIOSession.maxRefused {
            if index.isMultiple(of: 50) {
                clock.advance(.milliseconds(50))
                try send(leave(ackID: 1))
            }
            try send(#"42["x"]"#)
        }
        XCTAssertEqual(try ackCodes(), ["not_member", "not_member", "not_member"])
        XCTAssertTrue(channel.isActive)
        try send(#"42["x"]"#)
        try assertClosed(
            with: .policyViolation,
            reasonContains: "rate limit: 200 packets within 10 s over the limit of 20 per second"
        )
    }

    func testEngineIOControlPacketsCostTokensLikeMessages() throws {
        // Noops and pings are not free: once the burst (less the `40`'s token) is spent on them, a
        // message is refused.
        for _ in 1..<SocketIOSession.frameBurst { try send("6") }
        try send(leave(ackID: 1))
        XCTAssertEqual(try ackCodes(), ["rate_limited"])
        XCTAssertTrue(connection.isReadingPaused)
        // A flood of them alone ends like any flood.
        for _ in 2..<SocketIOSession.maxRefused { try send("2") }
        XCTAssertTrue(channel.isActive)
        XCTAssertFalse(try sentTexts().contains("3"), "pings over the limit are not answered")
        try send("6")
        try assertClosed(
            with: .policyViolation,
            reasonContains: "rate limit: 200 packets within 10 s over the limit of 20 per second"
        )
    }

    func testRefusalsOlderThanTheWindowDoNotCount() throws {
        try exhaustBurst()
        for _ in 1..<SocketIOSession.maxRefused { try send(#"42["x"]"#) }
        clock.advance(.milliseconds(10_001))
        for _ in 0..<SocketIOSession.frameBurst { try send(leave(ackID: 1)) }
        try send(#"42["x"]"#)
        XCTAssertTrue(channel.isActive, "the first refusal is out of the window")
    }

    // MARK: Read pause

    /// Counts the `read()`s that reach the socket end of the pipeline.
    private final class ReadCounter: ChannelOutboundHandler, @unchecked Sendable {
        typealias OutboundIn = ByteBuffer
        var count = 0
        func read(context: ChannelHandlerContext) {
            count += 1
            context.read()
        }
    }

    /// Puts a `ReadCounter` next to the socket.
    private func countReads() throws -> ReadCounter {
        let counter = ReadCounter()
        try channel.pipeline.syncOperations.addHandler(counter, position: .first)
        return counter
    }

    /// Moves the session's clock and the event loop's time (its timers) together.
    private func elapse(_ amount: TimeAmount) {
        clock.advance(amount)
        channel.embeddedEventLoop.advanceTime(by: amount)
    }

    func testReadingPausesWhenAFrameIsRefusedAndResumesWhenTheBucketHasATokenAgain() throws {
        let reads = try countReads()
        try exhaustBurst()
        channel.read()
        XCTAssertEqual(reads.count, 1, "the bucket is empty, but nothing was refused yet")
        try send(leave(ackID: 1))
        XCTAssertEqual(try ackCodes(), ["rate_limited"])
        XCTAssertTrue(connection.isReadingPaused)
        channel.read()
        XCTAssertEqual(reads.count, 1, "paused: the socket is not read")
        try send(leave(ackID: 2))
        XCTAssertEqual(try ackCodes(), ["rate_limited"], "a frame read before the pause held is refused as usual")

        elapse(.milliseconds(49))
        XCTAssertEqual(reads.count, 1, "no token yet after 49 ms at 20 per second")
        elapse(.milliseconds(1))
        XCTAssertEqual(reads.count, 2, "the held-back read goes to the socket as soon as a token is back")
        XCTAssertFalse(connection.isReadingPaused)
        try send(leave(ackID: 3))
        XCTAssertEqual(try ackCodes(), ["not_member"])
        channel.read()
        XCTAssertEqual(reads.count, 3)
        XCTAssertTrue(channel.isActive)
    }

    func testAPauseIsExtendedByALaterDeadlineOnly() throws {
        let reads = try countReads()
        let start = channel.embeddedEventLoop.now
        connection.pauseReading(until: start)
        XCTAssertFalse(connection.isReadingPaused, "a deadline that has come is no pause")
        connection.pauseReading(until: start + .milliseconds(100))
        connection.pauseReading(until: start + .milliseconds(50))
        connection.pauseReading(until: start + .milliseconds(200))
        channel.read()
        elapse(.milliseconds(199))
        XCTAssertEqual(reads.count, 0)
        elapse(.milliseconds(1))
        XCTAssertEqual(reads.count, 1)
    }

    func testPingsGoOutWhileReadingIsPausedAndThePongIsReadAfterIt() throws {
        let reads = try countReads()
        _ = try sentTexts()
        connection.pauseReading(until: channel.embeddedEventLoop.now + .seconds(30))
        channel.read()
        elapse(.seconds(25))
        XCTAssertEqual(try sentTexts(), ["2"], "the ping interval is 25 s")
        XCTAssertEqual(reads.count, 0)
        elapse(.seconds(5))
        XCTAssertEqual(reads.count, 1)
        try send("3")
        elapse(.seconds(20))
        XCTAssertTrue(channel.isActive, "the pong read after the pause counts")
    }

    func testTheFragmentDeadlineHoldsWhileReadingIsPausedAndClosingEndsThePause() throws {
        let reads = try countReads()
        try channel.writeInbound(
            clientFrame(.text, #"42["message",{"room":"r","text":""# + String(repeating: "a", count: 100), fin: false)
        )
        connection.pauseReading(until: channel.embeddedEventLoop.now + .seconds(60))
        channel.read()
        elapse(.seconds(10))
        try assertClosed(with: .policyViolation, reasonContains: "fragmented message not finished within 10 s")
        XCTAssertFalse(connection.isReadingPaused, "closing cancels the resume")
        elapse(.seconds(60))
        XCTAssertEqual(reads.count, 0, "the held-back read is dropped with the connection")
    }

    func testThePeerClosingEndsThePause() throws {
        connection.pauseReading(until: channel.embeddedEventLoop.now + .seconds(1))
        channel.pipeline.fireChannelInactive()
        XCTAssertFalse(connection.isReadingPaused)
    }

    // MARK: Malformed and unknown packets

    func testTenMalformedOrUnknownWithinAMinuteClose() throws {
        let offences = [
            #"421["dance",{}]"#, #"422["x",1,]"#, #"423["message","a","b"]"#, "40/admin,", #"434[{}]"#,
            #"425["x",01]"#, #"426["rooms",7]"#, #"427["join",{"room":1}]"#, #"428{"a":1}"#,
        ]
        for offence in offences { try send(offence) }
        XCTAssertEqual(
            try ackCodes(),
            [
                "unknown_event", "bad_request", "bad_request",
                "not an ack: 44/admin,{\"message\":\"Invalid namespace\"}",
                "bad_request", "bad_request", "bad_request", "bad_request",
            ]
        )
        XCTAssertTrue(channel.isActive, "9 offences")
        // Offences older than the window no longer count; ordinary refusals never do.
        clock.advance(.seconds(61))
        for offence in offences { try send(offence) }
        try send(#"429["message",{"room":"r","text":""}]"#)
        try send(#"4210["message",{"room":"r","text":"hi"}]"#)
        XCTAssertEqual(try ackCodes().suffix(2), ["bad_request", "not_member"])
        XCTAssertTrue(channel.isActive, "9 offences within the last minute")
        try send(#"4211["dance"]"#)
        try assertClosed(
            with: .policyViolation,
            reasonContains: "10 malformed or unknown packets or events within 60 s"
        )
    }

    func testMalformedPacketWithoutAckIDClosesAtOnce() throws {
        try send(#"42["x",1,]"#)
        try assertClosed(with: .protocolError, reasonContains: "invalid Socket.IO packet (invalid_json)")
    }

    func testJSONBombsOfTheLargestSizeAreRefusedByTheirCap() throws {
        let ones = #"421["x""# + String(repeating: ",1", count: (32768 - 10) / 2) + "]"
        XCTAssertLessThanOrEqual(ones.utf8.count, 32768)
        try send(ones)
        let deep = "422" + String(repeating: "[", count: 16000) + String(repeating: "]", count: 16000)
        try send(deep)
        let objects = #"423["x""# + String(repeating: #",{"a":1}"#, count: 4000) + "]"
        try send(objects)
        XCTAssertEqual(try ackCodes(), ["bad_request", "bad_request", "bad_request"])
        try send(#"42["x""# + String(repeating: ",1", count: 100) + "]")
        try assertClosed(with: .protocolError, reasonContains: "json_too_many_values")
    }

    func testEventBeforeNamespaceConnectCloses() throws {
        try send("41")
        try send(leave(ackID: 1))
        try assertClosed(with: .protocolError, reasonContains: "send 40 first")
    }

    // MARK: Idempotency key

    func testIdempotencyKeyIsCheckedInMessageAndCreate() throws {
        let longest = String(repeating: "k", count: 64)
        try send(#"421["message",{"room":"r","text":"hi","id":"\#(longest)"}]"#)
        try send(#"422["message",{"room":"r","text":"hi","id":"a-Z_0.9:x"}]"#)
        try send(#"423["message",{"room":"r","text":"hi","id":"\#(longest)k"}]"#)
        try send(#"424["message",{"room":"r","text":"hi","id":""}]"#)
        try send(#"425["message",{"room":"r","text":"hi","id":"a b"}]"#)
        try send(#"426["create",{"name":"ann","id":"é"}]"#)
        XCTAssertEqual(
            try ackCodes(),
            ["not_member", "not_member", "bad_request", "bad_request", "bad_request", "bad_request"]
        )
        XCTAssertTrue(channel.isActive, "a bad key is the client's mistake, not an offence")
    }

    // MARK: Parts

    func testTokenBucketOnTheMonotonicClock() {
        let start = NIODeadline.uptimeNanoseconds(5_000_000_000)
        var limiter = TokenBucket(perSecond: 10, burst: 3, now: start)
        XCTAssertEqual((0..<5).map { _ in limiter.allow(now: start) }, [true, true, true, false, false])
        XCTAssertFalse(limiter.allow(now: start + .milliseconds(50)), "half a token after 50 ms")
        XCTAssertTrue(limiter.allow(now: start + .milliseconds(100)))
        XCTAssertFalse(limiter.allow(now: start), "an earlier time adds nothing")
        XCTAssertEqual(
            (0..<4).map { _ in limiter.allow(now: start + .seconds(10)) },
            [true, true, true, false],
            "never more than the burst"
        )
        XCTAssertEqual(
            limiter.nextToken,
            start + .seconds(10) + .milliseconds(100),
            "empty: one token takes 100 ms at 10/s"
        )
        XCTAssertTrue(limiter.allow(now: start + .seconds(10) + .milliseconds(130)))
        XCTAssertEqual(
            limiter.nextToken,
            start + .seconds(10) + .milliseconds(200),
            "0.3 tokens left: 70 ms to the next"
        )
        _ = limiter.allow(now: start + .seconds(11))
        XCTAssertEqual(limiter.nextToken, start + .seconds(11), "tokens left: now")
    }

    func testOffenceWindowSlides() {
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        var window = OffenceWindow(limit: 3, window: .seconds(60))
        XCTAssertFalse(window.record(at: start))
        XCTAssertFalse(window.record(at: start + .seconds(30)))
        XCTAssertFalse(window.record(at: start + .seconds(60)), "the first fell out of the window")
        XCTAssertTrue(window.record(at: start + .seconds(61)), "three within 31 s")
        XCTAssertFalse(window.record(at: start + .seconds(200)))
        var once = OffenceWindow(limit: 1, window: .seconds(1))
        XCTAssertTrue(once.record(at: start))
    }

    func testLeadingAckID() {
        XCTAssertEqual(SocketIOSession.leadingAckID(of: "212[not json"), 12)
        XCTAssertEqual(SocketIOSession.leadingAckID(of: "27{}"), 7)
        XCTAssertEqual(SocketIOSession.leadingAckID(of: "29999999999999999999"), 9_999_999_999_999_999_999)
        XCTAssertNil(SocketIOSession.leadingAckID(of: "2[\"x\"]"))
        XCTAssertNil(SocketIOSession.leadingAckID(of: "9garbage"))
        XCTAssertNil(SocketIOSession.leadingAckID(of: "2/n,5[]"))
        XCTAssertNil(SocketIOSession.leadingAckID(of: "2" + String(repeating: "9", count: 20)))
        XCTAssertNil(SocketIOSession.leadingAckID(of: ""))
    }

    func testCloseReasons() {
        XCTAssertEqual(SessionCloseReason.flooding(refused: 200, seconds: 10).closeCode, .policyViolation)
        XCTAssertEqual(SessionCloseReason.misbehaving(count: 10, seconds: 60).closeCode, .policyViolation)
        XCTAssertEqual(SessionCloseReason.invalidPacket(.empty).closeCode, .protocolError)
        XCTAssertEqual(SessionCloseReason.eventBeforeConnect.closeCode, .protocolError)
        XCTAssertEqual(SessionCloseReason.unexpectedPacketType(.binaryEvent).closeCode, .protocolError)
        XCTAssertTrue(
            SessionCloseReason.invalidPacket(.invalidJSON(.tooDeep(limit: 8))).description.hasPrefix(
                "invalid Socket.IO packet (json_too_deep)"
            )
        )
    }
}
