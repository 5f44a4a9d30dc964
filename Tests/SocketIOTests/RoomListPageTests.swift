import SocketIO
import XCTest

/// The room list page the broker writes and a gateway over several shards merges.
final class RoomListPageTests: XCTestCase {
    func entry(_ room: String, _ members: Int = 1) -> RoomListPage.Entry {
        RoomListPage.Entry(room: room, members: members, created: 1_764_070_000_000)
    }

    func testJSONKeepsTheShapeClientsKnowAndReadsBack() throws {
        let page = RoomListPage(rooms: [entry("a", 2), entry("b\"c", 0)], next: "b\"c")
        XCTAssertEqual(
            String(decoding: page.json, as: UTF8.self),
            #"{"rooms":[{"room":"a","members":2,"created":1764070000000},{"room":"b\"c","members":0,"created":1764070000000}],"next":"b\"c"}"#
        )
        XCTAssertEqual(try RoomListPage(json: page.json), page)
        let last = RoomListPage(rooms: [], next: nil)
        XCTAssertEqual(String(decoding: last.json, as: UTF8.self), #"{"rooms":[],"next":null}"#)
        XCTAssertEqual(try RoomListPage(json: last.json), last)
    }

    func testOtherShapesAreRefused() {
        for text in [
            #"{"rooms":[]}"#, #"{"rooms":{},"next":null}"#,
            #"{"rooms":[{"room":"a","members":-1,"created":0}],"next":null}"#,
            #"{"rooms":[{"room":1,"members":1,"created":0}],"next":null}"#, #"{"rooms":[],"next":3}"#,
        ] {
            XCTAssertThrowsError(try RoomListPage(json: Array(text.utf8)), text) { error in
                XCTAssertEqual(error as? RoomListPage.Invalid, .shape, text)
            }
        }
        XCTAssertThrowsError(try RoomListPage(json: Array("{".utf8)))
    }

    func testMergingTakesTheFirstRoomsOfTheUnion() {
        // Two shards asked for 3 rooms after the same name: the merged page is the first 3 of all.
        let zero = RoomListPage(rooms: [entry("b"), entry("d"), entry("f")], next: "f")
        let one = RoomListPage(rooms: [entry("a"), entry("c")], next: nil)
        let merged = RoomListPage.merging([zero, one], limit: 3)
        XCTAssertEqual(merged.rooms.map(\.room), ["a", "b", "c"])
        XCTAssertEqual(merged.next, "c")
    }

    func testMergingSaysMoreWhenAShardHasMoreBeyondTheWholePage() {
        // Shard zero returned everything it was asked for and has more; the page holds all returned.
        let zero = RoomListPage(rooms: [entry("a"), entry("b")], next: "b")
        let one = RoomListPage(rooms: [], next: nil)
        let merged = RoomListPage.merging([zero, one], limit: 2)
        XCTAssertEqual(merged.rooms.map(\.room), ["a", "b"])
        XCTAssertEqual(merged.next, "b")
    }

    func testTheLastPageHasNoNext() {
        let merged = RoomListPage.merging(
            [RoomListPage(rooms: [entry("x")], next: nil), RoomListPage(rooms: [entry("m"), entry("z")], next: nil)],
            limit: 3
        )
        XCTAssertEqual(merged.rooms.map(\.room), ["m", "x", "z"])
        XCTAssertNil(merged.next)
        XCTAssertEqual(
            RoomListPage.merging([RoomListPage(rooms: [], next: nil)], limit: 5),
            RoomListPage(rooms: [], next: nil)
        )
    }

    func testPagingThroughMergedPagesVisitsEveryRoomOnce() {
        // Three shards holding disjoint rooms; each answers a page as the broker does.
        let names = (0..<50).map { String(format: "room-%02d", $0) }
        let shards = (0..<3).map { shard in names.enumerated().filter { $0.offset % 3 == shard }.map(\.element) }
        func page(of rooms: [String], after: String, limit: Int) -> RoomListPage {
            let rest = rooms.filter { $0 > after }
            let taken = Array(rest.prefix(limit))
            return RoomListPage(rooms: taken.map { entry($0) }, next: rest.count > limit ? taken.last : nil)
        }
        var seen: [String] = []
        var after = ""
        for _ in 0..<100 {
            let merged = RoomListPage.merging(shards.map { page(of: $0, after: after, limit: 7) }, limit: 7)
            seen += merged.rooms.map(\.room)
            guard let next = merged.next else { break }
            after = next
        }
        XCTAssertEqual(seen, names)
    }
}
