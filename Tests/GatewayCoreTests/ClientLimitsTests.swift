import ChatAPI
import ChatWire
import Logging
import NIOCore
import XCTest

@testable import GatewayCore

final class ClientLimitsTests: XCTestCase {
    func testConnectionCounterCapsPerKeyAndInTotal() {
        let counter = ConnectionCounter(maxTotal: 3, maxPerKey: 2)
        XCTAssertEqual((0..<4).map { _ in counter.opened() }, [true, true, true, false])
        XCTAssertEqual(counter.total, 4, "every accepted connection counts until it closes")
        let a = [(scope: AddressScope.subscriber, key: "a")]
        XCTAssertNil(counter.acquire(a))
        XCTAssertNil(counter.acquire(a))
        XCTAssertEqual(counter.acquire(a), .subscriber)
        XCTAssertNil(counter.acquire([(.subscriber, "b")]))
        counter.release(a)
        XCTAssertNil(counter.acquire(a), "a released slot can be taken again")
        counter.closed()
        XCTAssertFalse(counter.opened(), "still 4 open: over 3")
        counter.closed()
        counter.closed()
        XCTAssertTrue(counter.opened(), "3 open again")
    }

    func testRequestBucketsRefillOnTheMonotonicClockAndStayBounded() {
        let limiter = RequestRateLimiter(perSecond: 10, burst: 3, maxKeys: 4)
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        func allow(_ key: String, now: NIODeadline) -> Bool {
            limiter.allow([(.subscriber, key)], now: now) == nil
        }
        XCTAssertEqual((0..<4).map { _ in allow("a", now: start) }, [true, true, true, false])
        XCTAssertTrue(allow("b", now: start), "keys are independent")
        XCTAssertFalse(allow("a", now: start + .milliseconds(50)), "half a token")
        XCTAssertTrue(allow("a", now: start + .milliseconds(100)))
        XCTAssertEqual(
            (0..<4).map { _ in allow("a", now: start + .seconds(60)) },
            [true, true, true, false],
            "never more than the burst"
        )
        for key in 0..<100 {
            _ = allow("k\(key)", now: start + .seconds(120))
        }
        XCTAssertLessThanOrEqual(limiter.count, 4, "idle buckets are forgotten past maxKeys")
    }

    /// 64 /64s of one /48 each within their own budget: the /56s and the /48 still run out.
    func testIPv6PrefixesShareWiderBudgets() throws {
        let counter = ConnectionCounter(maxTotal: 10_000, maxPerKey: 2)
        var refused: [AddressScope] = []
        for subnet in 0..<64 {
            let client = try XCTUnwrap(ClientAddress("2001:db8:7:\(String(subnet, radix: 16))::1"))
            for _ in 0..<2 {
                if let full = counter.acquire(client.limitKeys) { refused.append(full) }
            }
        }
        // 2001:db8:7:0–3f are all in the /56 2001:db8:7::/56, which holds 8 (4 × 2) before the /48 (32) fills.
        XCTAssertEqual(refused.count, 128 - 8)
        XCTAssertEqual(Set(refused), [.site])
        let limiter = RequestRateLimiter(perSecond: 1, burst: 1)
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        var allowed = 0
        for subnet in 0..<256 {
            let client = try XCTUnwrap(ClientAddress("2001:db8:8:\(String(subnet, radix: 16))00::1"))
            if limiter.allow(client.limitKeys, now: start) == nil { allowed += 1 }
        }
        XCTAssertEqual(allowed, 16, "256 /56s of one /48: the /48's burst of 16")
    }

    func testLimitLinesAreThrottledPerLimitAndAddressWithACount() {
        let lines = LogLines()
        var logger = Logger(label: "limits") { _ in lines }
        logger.logLevel = .trace
        let counted = Counted()
        let reporter = LimitReporter(logger: logger, window: .seconds(10), onLimited: { _ in counted.add() })
        let start = ContinuousClock.now
        for second in 0..<25 {
            reporter.limited(.httpRequestsPerAddress, client: "192.0.2.1", now: start + .seconds(Int64(second)))
        }
        reporter.limited(.connectionsPerAddress, client: "192.0.2.1", now: start)
        reporter.limited(.httpRequestsPerAddress, client: "192.0.2.2", now: start)
        XCTAssertEqual(counted.value, 27, "every refusal is counted for the metric")
        let http1 = lines.all.filter { $0.contains("http_requests_per_address") && $0.contains("192.0.2.1") }
        XCTAssertEqual(http1.count, 3, "one line per 10 s: \(http1)")
        XCTAssertEqual(http1.dropFirst().map { $0.contains("suppressed=9") }, [true, true], "\(http1)")
        XCTAssertEqual(lines.all.count, 5)
    }
}

/// Log lines recorded by a test handler.
private final class LogLines: LogHandler, @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let fields = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(
            separator: " "
        )
        lock.lock()
        lines.append("\(event.message) \(fields)")
        lock.unlock()
    }

    var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return lines
    }
}

private final class Counted: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() {
        lock.lock()
        count += 1
        lock.unlock()
    }
    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }
}
