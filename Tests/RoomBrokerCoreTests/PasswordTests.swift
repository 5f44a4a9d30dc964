import RoomBrokerCore
import XCTest

final class PasswordTests: XCTestCase {
    func testPasswordsHaveAtLeast64BitsAndUseLettersAndDigits() {
        XCTAssertGreaterThanOrEqual(PasswordGenerator.entropyBits, 64)
        XCTAssertGreaterThanOrEqual(PasswordGenerator.length, 11)
        var seen = Set<String>()
        for _ in 0..<1000 {
            let password = PasswordGenerator.generate()
            XCTAssertEqual(password.count, PasswordGenerator.length)
            XCTAssertTrue(password.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }, password)
            seen.insert(password)
        }
        XCTAssertEqual(seen.count, 1000)
    }

    func testEverySymbolOfTheAlphabetIsUsed() {
        var seen = Set<Character>()
        for _ in 0..<500 { seen.formUnion(PasswordGenerator.generate()) }
        XCTAssertEqual(seen, Set(PasswordGenerator.alphabet))
    }

    func testHashMatchesOnlyThePassword() {
        let hash = PasswordHash(password: "Abc234defGHJ")
        XCTAssertTrue(hash.matches("Abc234defGHJ"))
        XCTAssertFalse(hash.matches("Abc234defGHj"))
        XCTAssertFalse(hash.matches(""))
        XCTAssertFalse(hash.matches("Abc234defGHJ "))
    }

    func testSaltMakesEqualPasswordsHashDifferently() {
        let first = PasswordHash(password: "same")
        let second = PasswordHash(password: "same")
        XCTAssertNotEqual(
            String(reflecting: Mirror(reflecting: first).children.map { "\($0.value)" }),
            String(reflecting: Mirror(reflecting: second).children.map { "\($0.value)" })
        )
    }

    func testAttemptLimiterWindows() {
        var limiter = AttemptLimiter(limit: 2, windowMilliseconds: 100)
        XCTAssertFalse(limiter.isBlocked("k", now: 0))
        limiter.record("k", now: 0)
        limiter.record("k", now: 10)
        XCTAssertTrue(limiter.isBlocked("k", now: 50))
        XCTAssertEqual(limiter.retryAfter("k", now: 50), 51)
        XCTAssertFalse(limiter.isBlocked("other", now: 50))
        XCTAssertTrue(limiter.isBlocked("k", now: 100), "both events are still within the last 100 ms (weighted)")
        XCTAssertFalse(limiter.isBlocked("k", now: 101))
        limiter.purge(now: 200)
        XCTAssertEqual(limiter.trackedKeys, 0)
    }
}
