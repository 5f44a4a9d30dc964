import ChatWire
import XCTest

final class CRC32CTests: XCTestCase {
    func testItMatchesTheStandardCheckValue() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([UInt8]()), 0)
        // RFC 3720 (iSCSI), B.4: 32 bytes of zeros, of ones, ascending.
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum((0..<32).map { UInt8($0) }), 0x46DD_794E)
    }

    func testSixteenBytesAtATimeAgreeWithOneByteAtATimeAtEveryLengthAndSplit() {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<100).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for length in 0...bytes.count {
            var single = CRC32C()
            for byte in bytes[..<length] { single.update(CollectionOfOne(byte)) }
            XCTAssertEqual(CRC32C.checksum(bytes[..<length]), single.value, "length \(length)")
            // Split anywhere (and so misaligned): the same value.
            let split = length / 3
            var parts = CRC32C()
            parts.update(bytes[..<split])
            parts.update(bytes[split..<length])
            XCTAssertEqual(parts.value, single.value, "length \(length), split \(split)")
        }
    }
}
