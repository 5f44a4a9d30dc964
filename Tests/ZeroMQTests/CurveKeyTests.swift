import XCTest

@testable import ZeroMQ

final class CurveKeyTests: XCTestCase {
    func testZ85MatchesTheSpecificationsExample() {
        // ZeroMQ RFC 32 (Z85): these 8 bytes are "HelloWorld".
        let bytes: [UInt8] = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]
        XCTAssertEqual(Z85.encode(bytes), "HelloWorld")
        XCTAssertEqual(Z85.decode("HelloWorld", byteCount: 8), bytes)
    }

    func testZ85RefusesTextThatIsNotAKey() {
        XCTAssertNil(Z85.decode("HelloWorl", byteCount: 8), "wrong length")
        XCTAssertNil(Z85.decode("Hello\"orld", byteCount: 8), "a character outside the alphabet")
        XCTAssertNil(Z85.decode("#####Hello", byteCount: 8), "a block above 2^32 - 1")
        XCTAssertNil(CurvePublicKey(z85: String(repeating: "a", count: 39)))
        XCTAssertNil(CurvePublicKey(bytes: [UInt8](repeating: 0, count: 31)))
    }

    func testAGeneratedPairsPublicKeyIsDerivedFromItsSecret() throws {
        let pair = try CurveKeyPair.generate()
        XCTAssertEqual(pair.publicKey.z85.count, 40)
        XCTAssertEqual(pair.secretKey.count, 32)
        let again = try XCTUnwrap(CurveKeyPair(secretZ85: pair.secretZ85))
        XCTAssertEqual(again, pair)
        XCTAssertEqual(CurvePublicKey(z85: pair.publicKey.z85), pair.publicKey)
        XCTAssertNotEqual(try CurveKeyPair.generate().publicKey, pair.publicKey)
    }

    func testPrintingAPairShowsOnlyItsPublicKey() throws {
        let pair = try CurveKeyPair.generate()
        var dumped = ""
        dump(pair, to: &dumped)
        let printed = "\(pair) \(String(reflecting: pair)) \([pair]) \(dumped)"
        XCTAssertTrue(printed.contains(pair.publicKey.z85))
        XCTAssertFalse(printed.contains(pair.secretZ85), printed)
        XCTAssertFalse(dumped.contains("secretKey"), dumped)
        XCTAssertEqual(pair.publicKey.prefix, String(pair.publicKey.z85.prefix(8)))
    }

    func testClientKeysPinOneKeyForAllServersOrOnePerServer() throws {
        let pair = try CurveKeyPair.generate()
        let a = try CurveKeyPair.generate().publicKey
        let b = try CurveKeyPair.generate().publicKey
        let one = CurveClientKeys(keyPair: pair, serverKeys: [a])
        XCTAssertEqual(one.serverKey(forServer: 0), a)
        XCTAssertEqual(one.serverKey(forServer: 1), a)
        let each = CurveClientKeys(keyPair: pair, serverKeys: [a, b])
        XCTAssertEqual(each.serverKey(forServer: 1), b)
        XCTAssertNil(each.serverKey(forServer: 2))
        XCTAssertThrowsError(try each.option(forServer: 2))
        XCTAssertEqual(try each.option(forServer: 0), .curveClient(pair, serverKey: a))
    }
}
