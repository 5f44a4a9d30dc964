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
        guard case .message(let seq, let sent) = parse(
            #"42["message",{"room":"r-1","seq":812,"name":"m3","text":"123456789 xxxx","ts":1764070000000}]"#)
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
}
