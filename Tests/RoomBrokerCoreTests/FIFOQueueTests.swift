import Foundation
import XCTest

@testable import RoomBrokerCore

/// The registry's FIFO queue keeps the snapshot layout of the queue it replaced.
final class FIFOQueueTests: XCTestCase {
    func testTheOldLayoutLoadsFromItsHead() throws {
        let old = Data(#"{"storage":[1,2,3,4],"head":2}"#.utf8)
        var queue = try JSONDecoder().decode(FIFOQueue<Int>.self, from: old)
        XCTAssertEqual(queue.count, 2)
        XCTAssertEqual(queue.popFirst(), 3)
        let written = try JSONDecoder().decode([String: JSONNumberList].self, from: JSONEncoder().encode(queue))
        XCTAssertEqual(written["storage"]?.values, [4])
        XCTAssertThrowsError(
            try JSONDecoder().decode(FIFOQueue<Int>.self, from: Data(#"{"storage":[1],"head":2}"#.utf8))
        )
    }

    func testItIsFirstInFirstOutAndRetainKeepsTheOrder() {
        var queue = FIFOQueue<Int>()
        for value in 1...6 { queue.append(value) }
        XCTAssertEqual(queue.popFirst(), 1)
        queue.retain { $0 % 2 == 0 }
        XCTAssertEqual(queue.count, 3)
        XCTAssertEqual([queue.popFirst(), queue.popFirst(), queue.popFirst(), queue.popFirst()], [2, 4, 6, nil])
    }
}

/// `storage` as numbers and `head` as a number, both read as lists.
private struct JSONNumberList: Decodable {
    var values: [Int]
    init(from decoder: any Decoder) throws {
        if let list = try? [Int](from: decoder) { values = list } else { values = [try Int(from: decoder)] }
    }
}
