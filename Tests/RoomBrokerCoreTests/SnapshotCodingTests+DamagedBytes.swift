import ChatWire
import XCTest

@testable import RoomBrokerCore

/// Damaged, truncated and hostile snapshots: they throw, never trap.
extension SnapshotCodingTests {
    /// The realistic state without its 8000-byte texts (a few kB, decoded thousands of times here).
    func smallSnapshot() throws -> [UInt8] {
        try realisticHarness(longText: "long enough").harness.engine.snapshot().encoded()
    }

    func testEveryTruncationThrows() throws {
        let bytes = try smallSnapshot()
        let step = max(1, bytes.count / 600)
        for length in stride(from: 0, to: bytes.count, by: step) {
            XCTAssertThrowsError(try BrokerSnapshot.decode(Array(bytes.prefix(length))), "\(length) bytes")
        }
        XCTAssertThrowsError(try BrokerSnapshot.decode(bytes + [0]))
    }

    func testFlippedBytesAreCaughtByTheChecksumOrTheHeader() throws {
        let bytes = try smallSnapshot()
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            var damaged = bytes
            let index = Int.random(in: 0..<bytes.count, using: &generator)
            damaged[index] ^= UInt8(1) << UInt8.random(in: 0...7, using: &generator)
            XCTAssertThrowsError(try BrokerSnapshot.decode(damaged), "bit flipped at \(index)")
        }
        var body = bytes
        body[20] ^= 0x40
        XCTAssertThrowsError(try BrokerSnapshot.decode(body)) { error in
            guard case .checksumMismatch = error as? SnapshotCodingError else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("ask for the snapshot again"), "\(error)")
        }
    }

    func testWrongMagicVersionFlagsAndLengthsAreRefusedWithTheirReason() throws {
        let bytes = try smallSnapshot()
        var magic = bytes
        magic[0] = UInt8(ascii: "J")
        XCTAssertThrowsError(try BrokerSnapshot.decode(magic)) {
            XCTAssertEqual(($0 as? SnapshotCodingError)?.kind, "badMagic")
        }
        var version = bytes
        version[4] = 2
        XCTAssertThrowsError(try BrokerSnapshot.decode(version)) { error in
            XCTAssertEqual(error as? SnapshotCodingError, .unsupportedVersion(found: 2, supported: 1))
            XCTAssertTrue("\(error)".contains("same release"), "\(error)")
        }
        var flags = bytes
        flags[6] = 1
        XCTAssertThrowsError(try BrokerSnapshot.decode(flags)) {
            XCTAssertEqual($0 as? SnapshotCodingError, .unsupportedFlags(1))
        }
        var length = bytes
        length[15] = 0x7F
        XCTAssertThrowsError(try BrokerSnapshot.decode(length)) {
            XCTAssertEqual(($0 as? SnapshotCodingError)?.kind, "lengthMismatch")
        }
        XCTAssertThrowsError(try BrokerSnapshot.decode([])) {
            XCTAssertEqual($0 as? SnapshotCodingError, .tooShort(count: 0))
        }
        XCTAssertThrowsError(try BrokerSnapshot.decode(Array("not a snapshot at all".utf8)))
    }

    /// Bodies damaged behind a valid checksum (as a buggy or hostile peer could send) throw or decode,
    /// never trap: every byte changed in turn, and random changes.
    func testDamagedBodiesWithAValidChecksumNeverCrash() throws {
        let bytes = try smallSnapshot()
        let body = Array(bytes[SnapshotFormat.headerSize..<bytes.count - SnapshotFormat.trailerSize])
        for index in stride(from: 0, to: body.count, by: max(1, body.count / 1_000)) {
            for value: UInt8 in [0x00, 0xFF, 0x80, body[index] &+ 1] {
                var damaged = body
                damaged[index] = value
                _ = try? BrokerSnapshot.decode(Self.sealed(damaged))
            }
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            var damaged = body
            for _ in 0..<Int.random(in: 1...8, using: &generator) {
                let index = Int.random(in: 0..<damaged.count, using: &generator)
                damaged[index] = UInt8.random(in: 0...255, using: &generator)
            }
            _ = try? BrokerSnapshot.decode(Self.sealed(damaged))
            let cut = Int.random(in: 0..<damaged.count, using: &generator)
            XCTAssertThrowsError(try BrokerSnapshot.decode(Self.sealed(Array(body.prefix(cut)))), "body cut at \(cut)")
        }
    }

    func testAbsurdLengthsThrow() throws {
        struct Probe: Codable { var text: String }
        let huge: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]
        let keyTable: [UInt8] = [1, 4] + Array("text".utf8)
        let bodies: [[UInt8]] = [
            // A string claiming 2^63 bytes.
            [9, 11, 0, 0, 0, 0, 7] + huge + keyTable,
            // A container claiming 4 GiB.
            [9, 0xFF, 0xFF, 0xFF, 0xFF, 0, 7, 0] + keyTable,
            // A key table claiming 2^63 keys.
            [9, 3, 0, 0, 0, 0, 7, 0] + huge,
            // A varint of 11 bytes.
            [9, 13, 0, 0, 0, 0, 7] + [UInt8](repeating: 0x80, count: 10) + [0] + keyTable,
            // A key index beyond the table.
            [9, 3, 0, 0, 0, 5, 7, 0] + keyTable,
            // An unknown tag.
            [9, 2, 0, 0, 0, 0, 42] + keyTable,
            // Bytes after the key table.
            [9, 3, 0, 0, 0, 0, 7, 0] + keyTable + [0],
        ]
        for body in bodies {
            XCTAssertThrowsError(try SnapshotDecoder().decode(Probe.self, from: Self.sealed(body)), "\(body)") {
                error in
                XCTAssertNotNil(error as? SnapshotCodingError, "\(error)")
            }
        }
        let valid: [UInt8] = [9, 3, 0, 0, 0, 0, 7, 0] + keyTable
        XCTAssertEqual(try SnapshotDecoder().decode(Probe.self, from: Self.sealed(valid)).text, "")
    }

    /// A value that holds nested arrays of itself, `depth` deep.
    struct Nest: Codable, Equatable {
        var children: [Nest]

        init(depth: Int) { children = depth > 0 ? [Nest(depth: depth - 1)] : [] }

        init(from decoder: any Decoder) throws {
            var container = try decoder.unkeyedContainer()
            children = []
            while !container.isAtEnd { children.append(try container.decode(Nest.self)) }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.unkeyedContainer()
            for child in children { try container.encode(child) }
        }
    }

    func testDeepNestingThrowsInsteadOfExhaustingTheStack() throws {
        XCTAssertEqual(try Self.recoded(Nest(depth: 60), as: Nest.self), Nest(depth: 60))
        XCTAssertThrowsError(try SnapshotEncoder().encode(Nest(depth: 100))) {
            guard case .nestingTooDeep(64, _) = $0 as? SnapshotCodingError else { return XCTFail("\($0)") }
        }
        // 100,000 unkeyed containers in one another, written by hand.
        let depth = 100_000
        var body: [UInt8] = []
        for level in 0..<depth {
            body += [10] + withUnsafeBytes(of: UInt32(5 * (depth - level - 1)).littleEndian) { Array($0) }
        }
        body.append(0)  // an empty key table
        XCTAssertThrowsError(try SnapshotDecoder().decode(Nest.self, from: Self.sealed(body))) {
            guard case .nestingTooDeep(64, _) = $0 as? SnapshotCodingError else { return XCTFail("\($0)") }
        }
    }
}
