import XCTest

@testable import GatewayCore

/// The broker link's followed rooms, alone: counted follows, confirmed subscriptions, parked joins and
/// the heads read from a broker not followed.
final class RoomSubscriptionsTests: XCTestCase {
    typealias Rooms = RoomSubscriptions<String>

    func join(_ caller: String, connection: UInt64, deadline: UInt64 = 2_000) -> HeldCommand<String> {
        HeldCommand(
            body: .join(room: "r", password: "pw", name: caller),
            connectionID: connection,
            client: "",
            caller: caller,
            deadline: deadline
        )
    }

    func testFollowsAreCountedAndTheLastUnfollowForgetsTheRoom() {
        var rooms = Rooms(brokers: 1)
        XCTAssertTrue(rooms.follow("r"), "the first follow subscribes")
        XCTAssertFalse(rooms.follow("r"))
        rooms.confirm("r")
        XCTAssertFalse(rooms.unfollow("r"))
        XCTAssertTrue(rooms.isFollowed("r"))
        XCTAssertTrue(rooms.isLive("r"))
        XCTAssertTrue(rooms.unfollow("r"), "the last unfollow unsubscribes")
        XCTAssertFalse(rooms.isFollowed("r"))
        XCTAssertFalse(rooms.isLive("r"), "a new follow must be confirmed again")
        XCTAssertFalse(rooms.unfollow("r"), "not followed: nothing")
        XCTAssertTrue(rooms.follow("b"))
        XCTAssertTrue(rooms.follow("a"))
        XCTAssertEqual(rooms.rooms, ["a", "b"])
    }

    func testJoinsWaitOnlyForAFollowedRoomNotConfirmedYet() {
        var rooms = Rooms(brokers: 1)
        XCTAssertFalse(rooms.holdsJoins(of: "r"), "not followed: nothing to wait for")
        _ = rooms.follow("r")
        XCTAssertTrue(rooms.holdsJoins(of: "r"))
        rooms.park(join("ann", connection: 1), in: "r")
        rooms.park(join("bob", connection: 2), in: "r")
        XCTAssertEqual(rooms.parkedCount, 2)
        rooms.confirm("r")
        XCTAssertFalse(rooms.holdsJoins(of: "r"))
        XCTAssertEqual(rooms.release("r").map(\.caller), ["ann", "bob"], "in arrival order")
        XCTAssertEqual(rooms.parkedCount, 0)
        XCTAssertTrue(rooms.release("r").isEmpty)
        rooms.unconfirm("r")
        XCTAssertTrue(rooms.holdsJoins(of: "r"))
    }

    func testADisconnectTakesOnlyItsConnectionsParkedJoins() {
        var rooms = Rooms(brokers: 1)
        rooms.park(join("ann-s", connection: 1), in: "s")
        rooms.park(join("ann-r", connection: 1), in: "r")
        rooms.park(join("bob", connection: 2), in: "r")
        XCTAssertEqual(rooms.removeParked(of: 1).map(\.caller), ["ann-r", "ann-s"], "rooms in order")
        XCTAssertEqual(rooms.parkedCount, 1)
        XCTAssertEqual(rooms.removeAllParked().map(\.caller), ["bob"])
        XCTAssertEqual(rooms.parkedCount, 0)
    }

    func testOverdueRoomsAreThoseWithAJoinPastItsDeadline() {
        var rooms = Rooms(brokers: 1)
        rooms.park(join("ann", connection: 1, deadline: 2_000), in: "b")
        rooms.park(join("bob", connection: 2, deadline: 3_000), in: "a")
        rooms.park(join("cat", connection: 3, deadline: 1_000), in: "a")
        XCTAssertEqual(rooms.overdueRooms(at: 999), [])
        XCTAssertEqual(rooms.overdueRooms(at: 1_000), ["a"])
        XCTAssertEqual(rooms.overdueRooms(at: 2_000), ["a", "b"])
    }

    func testHeadsOfABrokerNotFollowedAreKeptHighestFirstUntilTaken() {
        var rooms = Rooms(brokers: 2)
        _ = rooms.follow("r")
        _ = rooms.follow("s")
        _ = rooms.follow("gone")
        rooms.noteHead(of: "s", seq: 7, from: 1)
        rooms.noteHead(of: "r", seq: 9, from: 1)
        rooms.noteHead(of: "r", seq: 4, from: 1)
        rooms.noteHead(of: "gone", seq: 2, from: 1)
        rooms.noteHead(of: "r", seq: 1, from: 0)
        rooms.noteHead(of: "r", seq: 1, from: 5)
        _ = rooms.unfollow("gone")
        let heads = rooms.takeHeads(from: 1)
        XCTAssertEqual(heads.map(\.room), ["r", "s"])
        XCTAssertEqual(heads.map(\.seq), [9, 7], "the highest head of each room")
        XCTAssertTrue(rooms.takeHeads(from: 1).isEmpty, "taken once")
        XCTAssertEqual(rooms.takeHeads(from: 0).map(\.seq), [1])
        XCTAssertTrue(rooms.takeHeads(from: 5).isEmpty, "no such broker")
    }
}
