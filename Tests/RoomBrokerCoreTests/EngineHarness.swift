import ChatWire
import Logging
import RoomBrokerCore
import SocketIO
import XCTest

/// A ``BrokerEngine`` driven by encoded command frames, as the broker loop drives it, with every log
/// line recorded. Gateways say hello on first use (the engine refuses others' commands).
struct EngineHarness {
    let recorder = LogRecorder()
    var engine: BrokerEngine
    var greeted: Set<String> = []
    var nextRequestID: UInt32 = 100

    init(configuration: RoomRegistryConfiguration = .init(), gatewayTimeoutMilliseconds: UInt64 = 5_000) {
        engine = BrokerEngine(
            configuration: configuration,
            gatewayTimeoutMilliseconds: gatewayTimeoutMilliseconds,
            logger: recorder.logger
        )
    }

    /// Sends `body` as `gateway`'s command for `connection` from address key `client`. With `entropy`
    /// (another engine's draws for the same command) it is applied as a standby applies it.
    mutating func send(
        _ body: WireCommand.Body,
        gateway: String = "gw-a",
        connection: UInt64 = 1,
        client: String = "",
        sentAt: UInt64 = 0,
        ttl: UInt32 = 0,
        now: BrokerClock = 1_000,
        entropy: [UInt64]? = nil
    ) -> BrokerOutput {
        if !greeted.contains(gateway) {
            greeted.insert(gateway)
            _ = engine.handle(
                frame: WireCommand(requestID: 1, connectionID: 0, sentAt: sentAt, body: .hello(gatewayName: gateway))
                    .encoded(),
                from: gateway,
                now: now
            )
        }
        nextRequestID += 1
        let command = WireCommand(
            requestID: nextRequestID,
            connectionID: connection,
            client: client,
            sentAt: sentAt,
            ttl: ttl,
            body: body
        )
        if let entropy {
            return engine.apply(.command(gateway: gateway, frame: command.encoded(), now: now, entropy: entropy)).output
        }
        return engine.handle(frame: command.encoded(), from: gateway, now: now)
    }

    /// Sends `body` here and to `mirror` (a copy of this state: a standby, a restored snapshot) with the
    /// same random draws, as a standby applies the active's input; returns both outputs.
    mutating func sendMirrored(
        _ body: WireCommand.Body,
        to mirror: inout EngineHarness,
        gateway: String = "gw-a",
        connection: UInt64 = 1,
        client: String = "",
        now: BrokerClock = 1_000
    ) -> (expected: BrokerOutput, actual: BrokerOutput) {
        _ = engine.takeEntropy()
        let expected = send(body, gateway: gateway, connection: connection, client: client, now: now)
        let entropy = engine.takeEntropy()
        let actual = mirror.send(
            body,
            gateway: gateway,
            connection: connection,
            client: client,
            now: now,
            entropy: entropy
        )
        return (expected, actual)
    }

    /// Creates `room` from `client` and returns its password.
    mutating func create(
        _ room: String,
        client: String = "",
        connection: UInt64 = 99,
        now: BrokerClock = 1_000
    ) throws -> String {
        let json = try Self.json(
            send(.create(name: "owner", room: room, key: ""), connection: connection, client: client, now: now)
        )
        return try XCTUnwrap(json["password"]?.stringValue)
    }

    /// The success JSON of `output`, failing the test otherwise.
    static func json(_ output: BrokerOutput, file: StaticString = #filePath, line: UInt = #line) throws -> JSONValue {
        guard case .success(let success) = output.reply?.result else {
            XCTFail("expected success, got \(String(describing: output.reply))", file: file, line: line)
            throw ChatError(.internalError, "no success")
        }
        return try JSONValue.parse(success.json, limits: .trusted)
    }

    /// The refusal code of `output`, or nil.
    static func failure(_ output: BrokerOutput) -> ChatErrorCode? {
        if case .failure(let error) = output.reply?.result { return error.code }
        return nil
    }

    /// The recorded log lines.
    var lines: [String] { recorder.lines.withLock { $0 } }
}
