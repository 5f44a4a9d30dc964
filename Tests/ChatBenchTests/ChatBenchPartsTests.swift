import ChatLoad
import NIOCore
import XCTest

@testable import ChatBench

final class ChatBenchPartsTests: XCTestCase {
    func testHistogramQuantilesAreWithinTheBucketError() {
        var histogram = LatencyHistogram()
        for micros in 1...10_000 { histogram.record(UInt64(micros)) }
        XCTAssertEqual(histogram.count, 10_000)
        XCTAssertEqual(histogram.max, 10_000)
        for (q, exact) in [(0.5, 5_000.0), (0.9, 9_000.0), (0.99, 9_900.0)] {
            let value = Double(histogram.value(atQuantile: q))
            XCTAssertEqual(value, exact, accuracy: exact * 0.02, "q=\(q)")
        }
        XCTAssertEqual(histogram.value(atQuantile: 1), 10_000)
        XCTAssertEqual(histogram.mean, 5_000.5, accuracy: 0.001)
    }

    func testHistogramMergeAddsCounts() {
        var a = LatencyHistogram()
        var b = LatencyHistogram()
        a.record(10)
        b.record(1_000_000)
        a.merge(b)
        XCTAssertEqual(a.count, 2)
        XCTAssertEqual(a.max, 1_000_000)
        XCTAssertEqual(a.value(atQuantile: 0.5), 10)
        XCTAssertEqual(LatencyHistogram().value(atQuantile: 0.99), 0)
    }

    func testParsesTheServersPackets() {
        func parse(_ text: String) -> EnginePacket {
            Array(text.utf8).withUnsafeBytes { EnginePacket.parse($0) }
        }
        guard
            case .message(let seq, let sent) = parse(
                #"42["message",{"room":"r-1","seq":812,"name":"m3","text":"123456789 xxxx","ts":1764070000000}]"#
            )
        else { return XCTFail("message not parsed") }
        XCTAssertEqual(seq, 812)
        XCTAssertEqual(sent, 123_456_789)
        guard case .membership(let joinedSeq) = parse(#"42["joined",{"room":"r","seq":7,"name":"a","members":["a"]}]"#)
        else { return XCTFail("joined not parsed") }
        XCTAssertEqual(joinedSeq, 7)
        guard case .ack(let id, let json) = parse(#"4315[{"seq":9}]"#) else { return XCTFail("ack not parsed") }
        XCTAssertEqual(id, 15)
        XCTAssertEqual(json, #"[{"seq":9}]"#)
        guard case .ping = parse("2") else { return XCTFail("ping not parsed") }
        guard case .open = parse(#"0{"sid":"x"}"#) else { return XCTFail("open not parsed") }
        guard case .connected = parse(#"40{"sid":"y"}"#) else { return XCTFail("connect not parsed") }
        guard case .other = parse("") else { return XCTFail("empty frame should be ignored") }
    }

    func testMaskedFrameReadsBackUnmasked() throws {
        for length in [0, 5, 125, 126, 70_000] {
            let text = String(repeating: "a", count: length)
            var buffer = ByteBuffer()
            WebSocketFrame.write(opcode: .text, payload: text.utf8, mask: (1, 2, 3, 4), into: &buffer)
            let whole = buffer
            var partial = whole.getSlice(at: 0, length: whole.readableBytes - 1) ?? ByteBuffer()
            XCTAssertNil(WebSocketFrame.read(from: &partial), "incomplete frame of \(length)")
            let frame = try XCTUnwrap(WebSocketFrame.read(from: &buffer))
            XCTAssertTrue(frame.fin)
            XCTAssertEqual(frame.opcode, WebSocketFrame.Opcode.text.rawValue)
            XCTAssertEqual(String(buffer: frame.payload), text)
            XCTAssertEqual(buffer.readableBytes, 0)
        }
    }

    func testWorkerMessagesReadBackAsWritten() throws {
        var stats = StatsSnapshot()
        stats.sent = 3
        stats.delivered = 30
        stats.latency.record(1_500)
        stats.firstAckError = "[{\"error\":\"x y\"}]"
        let result = PartResult(stats: stats, missingJoined: 2, cpuSeconds: 1.5)
        for message in [
            WorkerMessage.connected, .join, .joined(missing: 7), .send(start: 12, end: 34), .result(result),
        ] {
            let line = message.line
            XCTAssertFalse(line.contains("\n"), "one line: \(line)")
            let read = try XCTUnwrap(WorkerMessage(line: line), line)
            XCTAssertEqual(read.kind, message.kind)
            XCTAssertEqual(read.line, line)
        }
        guard case .result(let back)? = WorkerMessage(line: WorkerMessage.result(result).line) else {
            return XCTFail("no result")
        }
        XCTAssertEqual(back.stats.delivered, 30)
        XCTAssertEqual(back.stats.latency.count, 1)
        XCTAssertEqual(back.stats.latency.value(atQuantile: 0.5), 1_500, accuracy: 30)
        XCTAssertEqual(back.stats.firstAckError, stats.firstAckError)
        for garbage in ["", "joined", "joined x", "send 1", "result {", "hello"] {
            XCTAssertNil(WorkerMessage(line: garbage), garbage)
        }
    }

    func testPartsTakeEveryRoomOnce() throws {
        let bench = try ChatBench.parse(["--rooms", "10", "--members", "3", "--rate", "10"])
        for count in 1...10 {
            let parts = (0..<count).map { bench.rooms(ofPart: $0, of: count) }
            XCTAssertEqual(parts.flatMap { Array($0) }, Array(0..<10), "\(count) parts")
            XCTAssertLessThanOrEqual(parts.map(\.count).max()! - parts.map(\.count).min()!, 1)
        }
    }

    func testMergedResultsAddUp() {
        var a = StatsSnapshot()
        a.sent = 2
        a.latency.record(10)
        var b = StatsSnapshot()
        b.sent = 5
        b.gaps = 1
        b.latency.record(20)
        let total = PartResult.merged([
            PartResult(stats: a, missingJoined: 1, cpuSeconds: 1),
            PartResult(stats: b, missingJoined: 2, cpuSeconds: 2),
        ])
        XCTAssertEqual(total.stats.sent, 7)
        XCTAssertEqual(total.stats.gaps, 1)
        XCTAssertEqual(total.stats.latency.count, 2)
        XCTAssertEqual(total.missingJoined, 3)
        XCTAssertEqual(total.cpuSeconds, 3)
    }

    func testSourceAddressesGoRoundRobinFrom127002() throws {
        let three = SourceAddresses(count: 3)
        XCTAssertEqual(
            (0..<6).map { three.address(for: $0)?.ipAddress },
            ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.2", "127.0.0.3", "127.0.0.4"]
        )
        XCTAssertEqual(three.address(for: 0)?.port, 0)
        XCTAssertNil(SourceAddresses(count: 0).address(for: 5))
        XCTAssertEqual(three.connectionCapacity, 3 * SourceAddresses.ephemeralPorts())
        XCTAssertEqual(SourceAddresses(count: 0).connectionCapacity, SourceAddresses.ephemeralPorts())
    }

    func testMoreClientsThanOneAddressesPortsNeedSourceAddresses() throws {
        let ports = SourceAddresses.ephemeralPorts()
        let rooms = ports / 10 + 1  // × 10 members: just over one address's ports
        XCTAssertThrowsError(try ChatBench.parse(["--rooms", "\(rooms)", "--members", "10", "--rate", "\(rooms)"]))
        XCTAssertNoThrow(
            try ChatBench.parse([
                "--rooms", "\(rooms)", "--members", "10", "--rate", "\(rooms)", "--source-addresses", "2",
            ])
        )
    }

    func testEachLoopGetsSomeRoomsSenders() {
        // The first member of each room sends; with rooms of an even size they must not all share loop 0.
        for members in [2, 10, 20] {
            let loopsOfSenders = Set(
                (0..<8).map { ScenarioPart.loopIndex(ofClient: $0 * members, members: members, loops: 2) }
            )
            XCTAssertEqual(loopsOfSenders, [0, 1], "rooms of \(members)")
        }
    }
}
