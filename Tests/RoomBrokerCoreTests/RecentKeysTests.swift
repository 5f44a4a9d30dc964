import Foundation
import RoomBrokerCore
import XCTest

/// Idempotency keys are kept for a minute (at most 1,024 per room), so a quiet room keeps none.
final class RecentKeysTests: XCTestCase {
    func testAKeyIsRememberedForItsRetentionThenForgotten() {
        var keys = RecentKeys()
        keys.record("k-1", seq: 7, now: 1_000)
        keys.record("k-2", seq: 8, now: 30_000)
        keys.expire(now: 1_000 + RecentKeys.retentionMilliseconds)
        XCTAssertEqual(keys.seq(of: "k-1"), 7, "a retry within the retention gets the first seq")
        keys.expire(now: 1_001 + RecentKeys.retentionMilliseconds)
        XCTAssertNil(keys.seq(of: "k-1"))
        XCTAssertEqual(keys.seq(of: "k-2"), 8)
        XCTAssertEqual(keys.count, 1)
    }

    func testAtMostCapacityKeysAreKept() {
        var keys = RecentKeys()
        for index in 0...RecentKeys.capacity { keys.record("k-\(index)", seq: UInt64(index), now: 1_000) }
        XCTAssertEqual(keys.count, RecentKeys.capacity)
        XCTAssertNil(keys.seq(of: "k-0"), "the oldest goes first")
        XCTAssertEqual(keys.seq(of: "k-\(RecentKeys.capacity)"), UInt64(RecentKeys.capacity))
    }

    /// The broker's periodic purge empties the keys of a room nobody writes to any more.
    func testAQuietRoomsKeysGoWithThePurge() throws {
        var harness = EngineHarness()
        let password = try harness.create("lobby")
        _ = harness.send(.join(room: "lobby", password: password, name: "ann"))
        for index in 0..<10 { _ = harness.send(.message(room: "lobby", text: "x", key: "k-\(index)")) }
        XCTAssertEqual(harness.engine.registry.rooms["lobby"]?.messageKeys.count, 10)
        let later = BrokerClock(monotonic: 1_000 + RecentKeys.retentionMilliseconds + 20_000, wall: 0)
        _ = harness.send(.heartbeat, now: later)  // ann's gateway is still there
        _ = harness.engine.tick(now: later)
        XCTAssertEqual(harness.engine.registry.rooms["lobby"]?.messageKeys.count, 0)
        let again = harness.send(.message(room: "lobby", text: "x", key: "k-0"), now: later)
        XCTAssertEqual(again.broadcasts.count, 1, "a key forgotten is a new message")
    }

    /// A snapshot of an earlier build kept the keys in a ring (`order`, `next`): it loads.
    func testTheEarlierRingLayoutLoads() throws {
        let json = #"{"seqs":{"a":1,"b":2},"order":["a","b"],"next":0}"#
        var keys = try JSONDecoder().decode(RecentKeys.self, from: Data(json.utf8))
        XCTAssertEqual(keys.seq(of: "b"), 2)
        XCTAssertEqual(keys.count, 2)
        keys.expire(now: 1_000_000)
        XCTAssertEqual(keys.count, 0, "kept until the first expiry")
        let damaged = #"{"seqs":{"a":1},"order":["a","b"],"next":0}"#
        XCTAssertThrowsError(try JSONDecoder().decode(RecentKeys.self, from: Data(damaged.utf8)))
    }
}
