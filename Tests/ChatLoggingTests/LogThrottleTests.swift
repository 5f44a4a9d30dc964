import Dispatch
import Synchronization
import XCTest

@testable import ChatLogging

final class LogThrottleTests: XCTestCase {
    private let start = ContinuousClock.now

    private func at(_ milliseconds: Int) -> ContinuousClock.Instant {
        start + .milliseconds(milliseconds)
    }

    func testAdmitsTheLimitThenSuppressesAndTheNextWindowCarriesTheCount() {
        let throttle = LogThrottle<String>(limit: 3, per: .seconds(10))
        for _ in 0..<3 { XCTAssertEqual(throttle.check("a", now: at(0)), .log(suppressed: 0)) }
        for offset in 1...7 { XCTAssertEqual(throttle.check("a", now: at(offset * 100)), .suppress) }
        XCTAssertEqual(throttle.suppressedTotal, 7)
        // Still inside the window.
        XCTAssertEqual(throttle.check("a", now: at(9_999)), .suppress)
        // The window started at 0 ends at 10 s: the first line after it reports the 8 left out.
        let verdict = throttle.check("a", now: at(10_000))
        XCTAssertEqual(verdict, .log(suppressed: 8))
        XCTAssertEqual(verdict.metadata, ["suppressed": "8"])
        XCTAssertEqual(throttle.check("a", now: at(10_001)), .log(suppressed: 0))
        XCTAssertEqual(throttle.check("a", now: at(10_002)).metadata, [:])
    }

    func testKeysAreIndependent() {
        let throttle = LogThrottle<UInt64>(limit: 1, per: .seconds(1))
        XCTAssertTrue(throttle.check(1, now: at(0)).admitted)
        XCTAssertFalse(throttle.check(1, now: at(1)).admitted)
        XCTAssertTrue(throttle.check(2, now: at(2)).admitted)
        XCTAssertFalse(throttle.check(2, now: at(3)).admitted)
    }

    func testEndedWindowsReportSuppressedLinesOnceAndForgetTheKeys() {
        let throttle = LogThrottle<String>(limit: 1, per: .seconds(1))
        _ = throttle.check("quiet", now: at(0))
        _ = throttle.check("noisy", now: at(0))
        for _ in 0..<5 { _ = throttle.check("noisy", now: at(500)) }
        XCTAssertEqual(throttle.endedWindows(now: at(999)), [])
        XCTAssertEqual(throttle.endedWindows(now: at(1_000)), [.init(key: "noisy", suppressed: 5)])
        XCTAssertEqual(throttle.keyCount, 0)
        XCTAssertEqual(throttle.endedWindows(now: at(5_000)), [])
        // Already reported: the next line does not count them again.
        XCTAssertEqual(throttle.check("noisy", now: at(5_000)), .log(suppressed: 0))
        XCTAssertEqual(
            LogThrottle<String>.Summary(key: "noisy", suppressed: 5).metadata,
            ["key": "noisy", "suppressed": "5"]
        )
    }

    func testMemoryIsBoundedAndForgottenCountsAreStillReported() {
        let throttle = LogThrottle<Int>(limit: 1, per: .seconds(60), maxKeys: 100)
        for key in 0..<10_000 {
            XCTAssertTrue(throttle.check(key, now: at(key)).admitted)
            XCTAssertFalse(throttle.check(key, now: at(key)).admitted)
            XCTAssertLessThanOrEqual(throttle.keyCount, 100)
        }
        XCTAssertEqual(throttle.suppressedTotal, 10_000)
        // The newest keys are kept; the oldest were forgotten and are reported together.
        XCTAssertFalse(throttle.check(9_999, now: at(10_000)).admitted)
        let summaries = throttle.endedWindows(now: at(1_000_000))
        XCTAssertEqual(summaries.reduce(0) { $0 + $1.suppressed }, 10_001)
        XCTAssertEqual(summaries.filter { $0.key == nil }.count, 1)
        XCTAssertEqual(summaries.first { $0.key == nil }?.metadata["key"], "forgotten")
    }

    func testZeroLimitSuppressesEverything() {
        let throttle = LogThrottle<String>(limit: 0, per: .seconds(1))
        XCTAssertEqual(throttle.check("a", now: at(0)), .suppress)
        XCTAssertEqual(throttle.endedWindows(now: at(1_000)), [.init(key: "a", suppressed: 1)])
    }

    func testConcurrentCallersCountEveryLine() {
        let throttle = LogThrottle<Int>(limit: 10, per: .seconds(3600))
        let admitted = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for _ in 0..<1_000 where throttle.check(worker % 2).admitted {
                admitted.add(1, ordering: .relaxed)
            }
        }
        XCTAssertEqual(admitted.load(ordering: .relaxed), 20)
        XCTAssertEqual(throttle.suppressedTotal, 8_000 - 20)
    }
}
