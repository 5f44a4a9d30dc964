import ChatWire
import XCTest

/// SipHash-2-4 against the reference implementation's vectors (key 00 01 … 0f, message 00 01 … of each
/// length; vectors.h of github.com/veorq/SipHash, read as little-endian words).
final class SipHash24Tests: XCTestCase {
    private let k0: UInt64 = 0x0706_0504_0302_0100
    private let k1: UInt64 = 0x0f0e_0d0c_0b0a_0908

    func testTheReferenceVectors() {
        let vectors: [(length: Int, hash: UInt64)] = [
            (0, 0x726f_db47_dd0e_0e31), (1, 0x74f8_39c5_93dc_67fd), (7, 0xab02_00f5_8b01_d137),
            (8, 0x93f5_f579_9a93_2462), (15, 0xa129_ca61_49be_45e5), (63, 0x958a_324c_eb06_4572),
        ]
        for (length, hash) in vectors {
            let message = (0..<length).map { UInt8($0) }
            XCTAssertEqual(SipHash24.hash(message, k0: k0, k1: k1), hash, "length \(length)")
        }
    }

    func testAnotherKeyGivesAnotherHash() {
        let message = Array("lobby".utf8)
        XCTAssertNotEqual(SipHash24.hash(message, k0: k0, k1: k1), SipHash24.hash(message, k0: k0, k1: k1 ^ 1))
        XCTAssertNotEqual(SipHash24.hash(message, k0: k0, k1: k1), SipHash24.hash(message, k0: k0 ^ 1, k1: k1))
    }
}
