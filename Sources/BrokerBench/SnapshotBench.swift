import ArgumentParser
import ChatWire
import Foundation
import Logging
import RoomBrokerCore

/// `BrokerBench snapshot`: builds a broker's state in process (rooms filled with messages through the
/// engine's own commands, as gateways would send them), then times encoding it as the snapshot a
/// standby loads and decoding it back (`scripts/bench snapshot`). Nothing runs over the network.
struct SnapshotBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Measures encoding and decoding the broker's state snapshot (what a standby loads), in process."
    )

    @Option(help: "Rooms.")
    var rooms = 60

    @Option(help: "Messages sent to each room (the history and replay budgets keep what fits).")
    var messages = 32

    @Option(help: "Bytes of UTF-8 per message text (at most 8000; past 2000 it uses four-byte characters).")
    var textBytes = FieldValidator.maxTextBytes

    @Option(help: "Members per room.")
    var members = 2

    @Option(help: "Times to encode and decode; the fastest run is reported.")
    var repeats = 3

    @Option(help: "Also write the summary as JSON to this file.")
    var json: String?

    func validate() throws {
        guard (1...FieldValidator.maxTextBytes).contains(textBytes) else {
            throw ValidationError("--text-bytes must be 1...\(FieldValidator.maxTextBytes)")
        }
        guard rooms > 0, messages >= 0, members > 0, repeats > 0 else {
            throw ValidationError("--rooms, --members and --repeats must be positive")
        }
    }

    func run() throws {
        let engine = try buildState()
        let snapshot = engine.snapshot()
        var stateBytes = 0
        for room in snapshot.registry.rooms.values {
            stateBytes += room.history.reduce(0) { $0 + $1.text.utf8.count + $1.name.utf8.count }
            stateBytes += room.recentBroadcasts.reduce(0) { $0 + $1.payload.count }
        }
        var bytes: [UInt8] = []
        var encodeSeconds = Double.infinity
        var decodeSeconds = Double.infinity
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            bytes = try snapshot.encoded()
            let encoded = DispatchTime.now().uptimeNanoseconds
            let decoded = try BrokerSnapshot.decode(bytes)
            let end = DispatchTime.now().uptimeNanoseconds
            encodeSeconds = min(encodeSeconds, Double(encoded - start) / 1e9)
            decodeSeconds = min(decodeSeconds, Double(end - encoded) / 1e9)
            guard decoded.registry.storedBytes == snapshot.registry.storedBytes,
                decoded.registry.rooms.count == snapshot.registry.rooms.count
            else {
                throw BenchFailure("the decoded state differs from the encoded one")
            }
        }
        let megabytes = Double(bytes.count) / 1e6
        func format(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }
        print(
            "[BrokerBench] snapshot of \(snapshot.registry.rooms.count) rooms "
                + "(\(messages) messages × \(textBytes) B sent to each): "
                + "state \(format(Double(stateBytes) / 1e6)) MB of text, snapshot \(format(megabytes)) MB; "
                + "encode \(format(encodeSeconds * 1e3)) ms (\(format(megabytes / encodeSeconds, 0)) MB/s), "
                + "decode \(format(decodeSeconds * 1e3)) ms (\(format(megabytes / decodeSeconds, 0)) MB/s), "
                + "best of \(repeats)"
        )
        if let json {
            let summary =
                "{\"rooms\": \(rooms), \"messages\": \(messages), \"text_bytes\": \(textBytes), "
                + "\"state_bytes\": \(stateBytes), \"snapshot_bytes\": \(bytes.count), "
                + "\"encode_ms\": \(format(encodeSeconds * 1e3, 3)), \"decode_ms\": \(format(decodeSeconds * 1e3, 3)), "
                + "\"encode_mb_per_s\": \(format(megabytes / encodeSeconds, 0)), "
                + "\"decode_mb_per_s\": \(format(megabytes / decodeSeconds, 0))}\n"
            try summary.write(toFile: json, atomically: true, encoding: .utf8)
        }
    }

    /// An engine with `rooms` rooms of `members` members each, and `messages` messages sent to each room.
    private func buildState() throws -> BrokerEngine {
        var configuration = RoomRegistryConfiguration()
        configuration.maxRooms = max(configuration.maxRooms, rooms)
        configuration.createsPerClient = .max
        configuration.createsPerConnection = .max
        configuration.roomsPerClient = .max
        let quiet = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        var engine = BrokerEngine(configuration: configuration, logger: quiet)
        var requestID: UInt32 = 0
        let gateway = "bench-gw"
        func send(_ body: WireCommand.Body, connection: UInt64) throws -> WireReply.Success {
            requestID &+= 1
            let frame = WireCommand(requestID: requestID, connectionID: connection, body: body).encoded()
            let output = engine.handle(frame: frame, from: gateway, now: BrokerClock.now())
            guard case .success(let success)? = output.reply?.result else {
                throw BenchFailure("\(body.kind): \(String(describing: output.reply?.result))")
            }
            return success
        }
        _ = try send(.hello(gatewayName: gateway), connection: 0)
        for room in 0..<rooms {
            let name = "snapshot-\(room)"
            let created = try send(.create(name: "owner", room: name, key: ""), connection: 0)
            guard let password = DriveBench.password(in: created.json) else {
                throw BenchFailure("create \(name): no password")
            }
            for member in 0..<members {
                let join = WireCommand.Body.join(room: name, password: password, name: "member \(member) 🙂")
                _ = try send(join, connection: connection(room, member))
            }
            for index in 0..<messages {
                let text = Self.text(bytes: textBytes, number: room * messages + index)
                _ = try send(.message(room: name, text: text, key: ""), connection: connection(room, index % members))
            }
        }
        return engine
    }

    private func connection(_ room: Int, _ member: Int) -> UInt64 {
        UInt64(room * members + member + 1)
    }

    /// A text of exactly `bytes` UTF-8 bytes and at most 2000 scalars (the broker's limits), varied by
    /// `number`: four-byte emoji as needed to fit the scalars, then ASCII.
    static func text(bytes: Int, number: Int) -> String {
        let wide = max(0, (bytes - FieldValidator.maxTextScalars + 2) / 3)
        let emoji = ["😀", "🚀", "🎉", "🙂", "🌍", "🔥", "💬", "🧪"]
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        var text = String(repeating: emoji[number % emoji.count], count: wide)
        text += String((0..<(bytes - 4 * wide)).map { letters[($0 + number) % letters.count] })
        return text
    }
}
