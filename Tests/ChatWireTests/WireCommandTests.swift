import ChatWire
import XCTest

final class WireCommandTests: XCTestCase {
    static let everyBody: [WireCommand.Body] = [
        .hello(gatewayName: "gw-1"),
        .heartbeat,
        .create(name: "alice", room: "", key: ""),
        .create(name: "Zoë 🚀", room: "lobby", key: "k-1"),
        .join(room: "lobby", password: "Abc123def456", name: "bob"),
        .join(room: "lobby", password: "Abc123def456", name: "bob", since: 0),
        .join(room: "lobby", password: "Abc123def456", name: "bob", since: 1 << 53),
        .join(room: "lobby", password: "Abc123def456", name: "bob", pid: "0123456789abcdef0123456789abcdef"),
        .leave(room: "lobby"),
        .message(room: "lobby", text: "hello\n\"world\"", key: "m:1.a"),
        .post(room: "lobby", password: "pw", name: "api", text: "from curl", key: ""),
        .listRooms(after: "", limit: 100),
        .listRooms(after: "lobby", limit: 7),
        .disconnect,
        .replay(room: "lobby", from: 7, to: UInt64.max),
        .resume(pid: "0123456789abcdef0123456789abcdef", instance: "k3x9", since: 1234),
        .resume(pid: "0123456789abcdef0123456789abcdef", instance: "", since: nil),
        .status,
        .history(room: "lobby", before: 1 << 53),
    ]

    func testEveryCommandRoundTrips() throws {
        XCTAssertEqual(Set(Self.everyBody.map(\.kind)), Set(CommandKind.allCases).subtracting([.invalid]))
        for (index, body) in Self.everyBody.enumerated() {
            let command = WireCommand(
                requestID: UInt32(index) + 0xFFFF_FF00,
                connectionID: UInt64(index) << 40,
                client: index.isMultiple(of: 2) ? "" : "2001:db8::\(index)",
                sentAt: UInt64(index) * 1_000_003,
                ttl: UInt32(index) * 1000,
                body: body
            )
            XCTAssertEqual(try WireCommand.decode(command.encoded()), command)
        }
    }

    func testEveryTruncationIsRefused() throws {
        for body in Self.everyBody {
            let frame = WireCommand(requestID: 1, connectionID: 2, body: body).encoded()
            for length in 0..<frame.count {
                XCTAssertThrowsError(try WireCommand.decode(Array(frame.prefix(length))), "\(body) cut at \(length)") {
                    error in
                    guard case .truncated = error as? WireError else { return XCTFail("\(error)") }
                }
            }
        }
    }

    func testAJoinWithoutSinceCarriesTheNoSinceValueThenAnEmptyPid() throws {
        let frame = WireCommand(requestID: 1, connectionID: 2, body: .join(room: "r", password: "p", name: "n"))
            .encoded()
        XCTAssertEqual(Array(frame.suffix(12)), [UInt8](repeating: 0xFF, count: 8) + [0, 0, 0, 0])
        XCTAssertEqual(
            try WireCommand.decode(frame).body,
            .join(room: "r", password: "p", name: "n", since: nil, pid: "")
        )
    }

    /// A token follows the pid only when there is one: a join without is the frame of earlier builds.
    func testAJoinWithATokenAppendsIt() throws {
        let token = String(repeating: "ab", count: 16)
        let plain = WireCommand(requestID: 1, connectionID: 2, body: .join(room: "r", password: "p", name: "n"))
        let withToken = WireCommand(
            requestID: 1,
            connectionID: 2,
            body: .join(room: "r", password: "p", name: "n", token: token)
        )
        XCTAssertEqual(withToken.encoded(), plain.encoded() + [0, 0, 0, 32] + Array(token.utf8))
        XCTAssertEqual(try WireCommand.decode(withToken.encoded()), withToken)
        XCTAssertThrowsError(try WireCommand.decode(Array(withToken.encoded().dropLast())))
        XCTAssertThrowsError(try WireCommand.decode(plain.encoded() + [0, 0, 0, 0]), "an empty token written out")
    }

    func testAResumeWithoutOffsetCarriesTheNoSinceValue() throws {
        let frame = WireCommand(requestID: 1, connectionID: 2, body: .resume(pid: "ab", instance: "", since: nil))
            .encoded()
        XCTAssertEqual(frame[1], 11)
        XCTAssertEqual(
            Array(frame.suffix(18)),
            [0, 0, 0, 2, 0x61, 0x62, 0, 0, 0, 0] + [UInt8](repeating: 0xFF, count: 8)
        )
    }

    func testTrailingBytesAreRefused() {
        let frame = WireCommand(requestID: 1, connectionID: 2, body: .leave(room: "a")).encoded() + [0]
        XCTAssertThrowsError(try WireCommand.decode(frame)) {
            XCTAssertEqual($0 as? WireError, .trailingBytes(count: 1))
        }
    }

    func testUnknownKindAndVersionAreRefused() {
        var frame = WireCommand(requestID: 1, connectionID: 2, body: .heartbeat).encoded()
        frame[1] = 99
        XCTAssertThrowsError(try WireCommand.decode(frame)) { XCTAssertEqual($0 as? WireError, .unknownKind(99)) }
        frame[1] = CommandKind.heartbeat.rawValue
        frame[0] = 1
        XCTAssertThrowsError(try WireCommand.decode(frame)) { XCTAssertEqual($0 as? WireError, .unsupportedVersion(1)) }
    }

    func testOversizedFrameIsRefused() {
        let text = String(repeating: "x", count: WireFormat.maxFrameSize)
        let frame = WireCommand(requestID: 1, connectionID: 2, body: .message(room: "a", text: text, key: "")).encoded()
        XCTAssertThrowsError(try WireCommand.decode(frame)) { error in
            guard case .oversized = error as? WireError else { return XCTFail("\(error)") }
        }
    }

    func testInvalidUTF8IsRefused() {
        var frame = WireCommand(requestID: 1, connectionID: 2, body: .leave(room: "ab")).encoded()
        frame[frame.count - 1] = 0xFF
        XCTAssertThrowsError(try WireCommand.decode(frame)) {
            XCTAssertEqual($0 as? WireError, .invalidUTF8(field: "room"))
        }
    }

    func testHugeLengthPrefixIsTruncationNotACrash() {
        var writer = WireWriter()
        writer.write(WireFormat.version)
        writer.write(CommandKind.leave.rawValue)
        writer.write(UInt32(1))
        writer.write(UInt64(2))
        writer.write("")
        writer.write(UInt64(3))
        writer.write(UInt32(5_000))
        writer.write(UInt32.max)
        XCTAssertThrowsError(try WireCommand.decode(writer.bytes)) {
            XCTAssertEqual($0 as? WireError, .truncated(field: "room"))
        }
    }
}
