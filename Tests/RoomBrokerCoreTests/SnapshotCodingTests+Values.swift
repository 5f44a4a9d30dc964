import ChatWire
import XCTest

@testable import RoomBrokerCore

/// Values of every kind, canonical order, schema changes and misuse of the coders.
extension SnapshotCodingTests {
    struct Everything: Codable, Equatable {
        enum Kind: Codable, Equatable {
            case plain
            case text(String, count: Int)
        }

        var bools = [true, false]
        var signed: [Int64] = [0, -1, 1, .min, .max]
        var small: [Int8] = [.min, -1, 0, .max]
        var unsigned: [UInt64] = [0, 127, 128, .max]
        var int = Int.min
        var uint16 = UInt16.max
        var double = -1.5e300
        var float: Float = 3.25
        var strings = ["", "a", "Zoë 🚀", "nul\u{0}inside", String(repeating: "ß", count: 1_000)]
        var bytes: [UInt8] = Array(0...255)
        var empty: [UInt8] = []
        var optionals: [Int?] = [1, nil, 3]
        var absent: String?
        var present: String? = "here"
        var nested: [[String: [UInt8]]] = [["a": [1, 2], "": []], [:]]
        var kinds: [Kind] = [.plain, .text("t", count: 2)]
        var set: Set<String> = ["x", "y", "z"]
        var byConnection: [ConnectionKey: String] = [ConnectionKey(gateway: "gw", connectionID: 1): "one"]
        var byInt: [Int: String] = [-1: "minus", 7: "seven"]
        var clock = BrokerClock(monotonic: 5, wall: 6)
    }

    func testEveryKindOfValueRoundTrips() throws {
        let value = Everything()
        let bytes = try SnapshotEncoder().encode(value)
        XCTAssertEqual(try SnapshotDecoder().decode(Everything.self, from: bytes), value)
        XCTAssertEqual(Array(bytes.prefix(4)), Array("CHSN".utf8))
        for root: String in ["", "root"] {
            XCTAssertEqual(try Self.recoded(root, as: String.self), root)
        }
        XCTAssertEqual(try Self.recoded([UInt8]([9]), as: [UInt8].self), [9])
        XCTAssertNil(try Self.recoded(Int?.none, as: Int?.self))
    }

    func testByteArraysAreCopiedWholeAndKeysWrittenOnce() throws {
        struct Message: Codable {
            var sequenceNumber: UInt64
            var payload: [UInt8]
        }
        let payload = [UInt8](repeating: 7, count: 100)
        let messages = (0..<1_000).map { Message(sequenceNumber: UInt64($0), payload: payload) }
        let bytes = try SnapshotEncoder().encode(messages)
        // Per message: container tag and length (5), two key indices (2), the number (1-3) and the
        // payload's tag, length and bytes (102); the key names once.
        XCTAssertLessThan(bytes.count, 1_000 * 112 + 100)
        XCTAssertEqual(bytes.count(of: Array("sequenceNumber".utf8)), 1)
    }

    func testEqualDictionariesAndSetsEncodeToEqualBytesWhateverTheirHistory() throws {
        var grown: [String: Int] = [:]
        var grownSet: Set<String> = []
        var grownKeys: [ConnectionKey: Set<String>] = [:]
        for index in 0..<2_000 {
            grown["key-\(index)"] = index
            grownSet.insert("member-\(index)")
            grownKeys[ConnectionKey(gateway: "gw-\(index % 3)", connectionID: UInt64(index))] = ["room-\(index)"]
        }
        for index in 0..<2_000 where index % 3 != 0 {
            grown["key-\(index)"] = nil
            grownSet.remove("member-\(index)")
            grownKeys[ConnectionKey(gateway: "gw-\(index % 3)", connectionID: UInt64(index))] = nil
        }
        let kept = stride(from: 0, to: 2_000, by: 3).reversed()
        let fresh = Dictionary(uniqueKeysWithValues: kept.map { ("key-\($0)", $0) })
        let freshSet = Set(kept.map { "member-\($0)" })
        let freshKeys = Dictionary(
            uniqueKeysWithValues: kept.map {
                (ConnectionKey(gateway: "gw-\($0 % 3)", connectionID: UInt64($0)), Set(["room-\($0)"]))
            }
        )
        XCTAssertEqual(try SnapshotEncoder().encode(grown), try SnapshotEncoder().encode(fresh))
        XCTAssertEqual(try SnapshotEncoder().encode(grownSet), try SnapshotEncoder().encode(freshSet))
        XCTAssertEqual(try SnapshotEncoder().encode(grownKeys), try SnapshotEncoder().encode(freshKeys))
        XCTAssertEqual(try Self.recoded(grownKeys, as: [ConnectionKey: Set<String>].self), freshKeys)
    }

    /// Reads the keys of a keyed container in reverse order (as no synthesized decoder does).
    struct Reversed: Decodable {
        var values: [Int] = []

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: SnapshotKey.self)
            for key in container.allKeys.reversed() { values.append(try container.decode(Int.self, forKey: key)) }
            XCTAssertFalse(container.contains(SnapshotKey(stringValue: "missing")))
        }
    }

    func testLargeKeyedContainersAreReadInAnyOrder() throws {
        let dictionary = Dictionary(uniqueKeysWithValues: (0..<20_000).map { ("k\($0)", $0) })
        let bytes = try SnapshotEncoder().encode(dictionary)
        XCTAssertEqual(try SnapshotDecoder().decode([String: Int].self, from: bytes), dictionary)
        let reversed = try SnapshotDecoder().decode(Reversed.self, from: bytes)
        XCTAssertEqual(reversed.values, dictionary.keys.sorted().reversed().compactMap { dictionary[$0] })
    }

    func testFieldsAddedLaterAreAbsentAndFieldsRemovedLaterAreSkipped() throws {
        struct Old: Codable {
            var name: String
            var dropped: [UInt8]
            var count: Int
        }
        struct New: Codable, Equatable {
            var name: String
            var count: Int
            var added: UInt64?
        }
        let old = try SnapshotEncoder().encode(Old(name: "a", dropped: [1, 2, 3], count: 4))
        XCTAssertEqual(try SnapshotDecoder().decode(New.self, from: old), New(name: "a", count: 4, added: nil))
        XCTAssertThrowsError(try Self.recoded(New(name: "a", count: 1), as: Old.self)) {
            XCTAssertEqual($0 as? SnapshotCodingError, .keyNotFound("dropped", path: "the root"))
            XCTAssertTrue("\($0)".contains("decodeIfPresent"), "\($0)")
        }
        struct Wide: Codable { var count: Int }
        struct Narrow: Codable { var count: UInt8 }
        XCTAssertThrowsError(try Self.recoded(Wide(count: 300), as: Narrow.self)) {
            XCTAssertEqual($0 as? SnapshotCodingError, .valueOutOfRange(type: "UInt8", value: "300", path: "count"))
        }
        XCTAssertThrowsError(try Self.recoded([["a": 1]], as: [String].self)) {
            XCTAssertEqual(($0 as? SnapshotCodingError)?.kind, "typeMismatch")
            XCTAssertTrue("\($0)".contains("[0]"), "\($0)")
        }
    }

    /// Writes to an outer container after opening a nested one, then to the nested one again.
    struct Interleaved: Encodable {
        enum Keys: CodingKey { case a, b, c }

        func encode(to encoder: any Encoder) throws {
            var outer = encoder.container(keyedBy: Keys.self)
            var inner = outer.nestedContainer(keyedBy: Keys.self, forKey: .a)
            try inner.encode(1, forKey: .b)
            try outer.encode(2, forKey: .b)
            try inner.encode(3, forKey: .c)
        }
    }

    class Base: Codable {
        var base = "base"
    }

    final class Derived: Base {
        var derived = 2
        enum Keys: CodingKey { case derived }

        override init() { super.init() }

        required init(from decoder: any Decoder) throws {
            derived = try decoder.container(keyedBy: Keys.self).decode(Int.self, forKey: .derived)
            try super.init(from: try decoder.container(keyedBy: Keys.self).superDecoder())
        }

        override func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(derived, forKey: .derived)
            try super.encode(to: container.superEncoder())
        }
    }

    func testContainersUsedOutOfOrderFailAndSuperEncodersWork() throws {
        XCTAssertThrowsError(try SnapshotEncoder().encode(Interleaved())) {
            XCTAssertEqual(($0 as? SnapshotCodingError)?.kind, "containerMisuse")
        }
        let derived = Derived()
        derived.base = "changed"
        derived.derived = 9
        let decoded = try Self.recoded(derived, as: Derived.self)
        XCTAssertEqual(decoded.base, "changed")
        XCTAssertEqual(decoded.derived, 9)
    }
}
