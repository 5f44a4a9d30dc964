import SocketIO
import XCTest

/// A history encoded once (``EncodedHistory``) gives the join ack, byte for byte, that encoding each
/// message again gives, for every cut the byte budget makes and after any number of drops.
final class EncodedHistoryTests: XCTestCase {
    private static let texts = ["hi", "Grüße ☕️", "\"q\"\\\n\t", "日本語", "😀😀😀", String(repeating: "long ", count: 60)]

    private static func message(_ seq: UInt64) -> Message {
        Message(
            seq: seq,
            name: seq % 3 == 0 ? "Zoë" : "ann",
            text: texts[Int(seq) % texts.count] + " \(seq)",
            timestampMilliseconds: 1_700_000_000_000 + Int64(seq),
            via: seq % 4 == 0 ? .http : nil
        )
    }

    private static func acks(
        _ messages: ArraySlice<Message>,
        _ encoded: EncodedHistory,
        complete: Bool?,
        budget: Int
    ) -> (fresh: String, copied: String) {
        let fresh = ServerEventEncoder.joinAck(
            room: "lobby",
            seq: 99,
            members: ["ann", "Zoë"],
            count: 2,
            history: messages,
            complete: complete,
            byteBudget: budget
        )
        let copied = ServerEventEncoder.joinAck(
            room: "lobby",
            seq: 99,
            members: ["ann", "Zoë"],
            count: 2,
            encodedHistory: encoded,
            newest: messages.count,
            complete: complete,
            byteBudget: budget
        )
        return (String(decoding: fresh, as: UTF8.self), String(decoding: copied, as: UTF8.self))
    }

    func testEveryCutOfEverySuffixIsTheFreshlyEncodedAck() {
        var kept: [Message] = []
        var encoded = EncodedHistory()
        var seq: UInt64 = 1
        for round in 0..<40 {
            // Appends and drops from the front, as a room's history does; the dead bytes are compacted.
            for _ in 0..<(round % 5 + 1) {
                kept.append(Self.message(seq))
                encoded.append(Self.message(seq), room: "lobby")
                seq += 1
            }
            for _ in 0..<(round % 3) where !kept.isEmpty {
                kept.removeFirst()
                encoded.removeFirst()
            }
            XCTAssertEqual(encoded.count, kept.count)
            XCTAssertEqual(encoded.firstSeq, kept.first?.seq)
            XCTAssertEqual(encoded.lastSeq, kept.last?.seq)
            for newest in Set([0, 1, kept.count / 2, kept.count]) where newest <= kept.count {
                for budget in [0, 100, 150, 200, 300, 420, 600, 1_000, 2_500, 1 << 20] {
                    for complete: Bool? in [nil, true, false] {
                        let (fresh, copied) = Self.acks(
                            kept.suffix(newest),
                            encoded,
                            complete: complete,
                            budget: budget
                        )
                        XCTAssertEqual(copied, fresh, "round \(round), newest \(newest), budget \(budget)")
                    }
                }
            }
        }
    }

    func testAnEmptiedHistoryStartsAfresh() {
        var encoded = EncodedHistory()
        encoded.append(Self.message(1), room: "lobby")
        encoded.removeFirst()
        encoded.removeFirst()
        XCTAssertEqual(encoded.count, 0)
        XCTAssertNil(encoded.firstSeq)
        encoded.append(Self.message(2), room: "lobby")
        let (fresh, copied) = Self.acks([Self.message(2)], encoded, complete: true, budget: 1 << 20)
        XCTAssertEqual(copied, fresh)
        XCTAssertTrue(copied.contains(#""history":[{"room":"lobby","seq":2,"#), copied)
    }
}
