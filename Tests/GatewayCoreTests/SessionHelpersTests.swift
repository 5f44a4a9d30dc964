@testable import GatewayCore
import XCTest

final class SessionHelpersTests: XCTestCase {
    func testRateLimiterAllowsABurstThenRefillsOverTime() {
        var limiter = CommandRateLimiter(perSecond: 10, burst: 3, now: 0)
        XCTAssertEqual((0..<5).map { _ in limiter.allow(now: 0) }, [true, true, true, false, false])
        XCTAssertFalse(limiter.allow(now: 50), "half a token after 50 ms")
        XCTAssertTrue(limiter.allow(now: 100))
        XCTAssertEqual((0..<4).map { _ in limiter.allow(now: 10_000) }, [true, true, true, false], "never more than the burst")
    }

    func testAckIDOfAMalformedEventIsFoundSoItCanBeAnswered() {
        XCTAssertEqual(SocketIOSession.ackID(ofMalformed: "212[not json"), 12)
        XCTAssertEqual(SocketIOSession.ackID(ofMalformed: "27{}"), 7)
        XCTAssertNil(SocketIOSession.ackID(ofMalformed: "2[\"x\"]"))
        XCTAssertNil(SocketIOSession.ackID(ofMalformed: "9garbage"))
        XCTAssertNil(SocketIOSession.ackID(ofMalformed: "2" + String(repeating: "9", count: 25)))
    }
}
