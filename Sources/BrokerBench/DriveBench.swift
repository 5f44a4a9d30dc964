import ArgumentParser
import ChatWire
import Foundation
import ProcessLimits
import ZeroMQ

/// `BrokerBench drive` (the default): drives a running RoomBroker over ZeroMQ as gateways would,
/// without gateways or clients, and reports how many commands per second it answers
/// (`scripts/bench broker`).
///
/// Each simulated gateway is a DEALER socket that says hello, creates its rooms, joins members, then
/// keeps `--window` `message` commands in flight, round-robin over its rooms, for `--duration` seconds.
/// One SUB socket counts the broadcasts. Everything runs on one thread; the broker's CPU is read by the
/// caller from /proc.
struct DriveBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drive",
        abstract: "Measures a RoomBroker alone: commands per second over ZeroMQ, without gateways."
    )

    @Option(help: "The broker's ROUTER endpoint.")
    var commands = "tcp://127.0.0.1:5555"

    @Option(help: "The broker's XPUB endpoint (broadcasts are counted there).")
    var broadcasts = "tcp://127.0.0.1:5556"

    @Option(help: "Simulated gateways (one DEALER each).")
    var gateways = 2

    @Option(help: "Rooms per gateway.")
    var rooms = 10

    @Option(help: "Members per room (each a connection of its gateway).")
    var members = 10

    @Option(help: "`message` commands in flight per gateway.")
    var window = 500

    @Option(help: "Seconds of sending.")
    var duration = 10.0

    @Option(help: "Message text length in bytes.")
    var textBytes = 64

    @Option(help: "Also write the summary as JSON to this file.")
    var json: String?

    @Option(
        help:
            "A CURVE secret key file (NAME.key_secret) whose public key the broker allows: the links use CURVE. Needs --broker-public-key."
    )
    var curveSecretKey: String?

    @Option(help: "The broker's public key file (NAME.key), pinned.")
    var brokerPublicKey: String?

    @Flag(help: "Allow plain tcp:// to a loopback address (without CURVE keys).")
    var insecureLoopback = false

    func validate() throws {
        guard (curveSecretKey == nil) == (brokerPublicKey == nil) else {
            throw ValidationError("--curve-secret-key and --broker-public-key go together")
        }
        let policy = EndpointPolicy(hasCurveKeys: curveSecretKey != nil, insecureLoopback: insecureLoopback)
        do {
            try policy.check([commands, broadcasts])
        } catch {
            throw ValidationError(error.message(keyFlags: "--curve-secret-key and --broker-public-key"))
        }
    }

    mutating func run() throws {
        _ = FileDescriptorLimit.raiseToMaximum()
        var curve: ZMQSocketOption?
        if let curveSecretKey, let brokerPublicKey {
            curve = .curveClient(
                try CurveKeyFile.readKeyPair(path: curveSecretKey),
                serverKey: try CurveKeyFile.readPublicKey(path: brokerPublicKey)
            )
        }
        let context = try ZMQContext()
        let subscriber = try context.socket(.sub)
        if let curve { try subscriber.set(curve) }
        try subscriber.set(.receiveHighWaterMark(0))
        try subscriber.set(.maxMessageSize(Int64(WireFormat.maxPayloadSize)))
        try subscriber.connect(broadcasts)
        var links: [Link] = []
        for index in 0..<gateways {
            links.append(
                try Link(
                    context: context,
                    endpoint: commands,
                    name: "bench-\(ProcessInfo.processInfo.processIdentifier)-\(index)",
                    curve: curve
                )
            )
        }
        // Setup: hello, rooms, members (waiting for each answer).
        var roomNames: [[String]] = []
        for link in links {
            _ = try link.call(.hello(gatewayName: link.name))
            var names: [String] = []
            for room in 0..<rooms {
                let name = "b\(link.name.suffix(8))-\(room)"
                let created = try link.call(.create(name: "owner", room: name, key: ""))
                guard case .success(let success) = created.result,
                    let password = Self.password(in: success.json)
                else { throw BenchFailure("create \(name): \(created.result)") }
                for member in 0..<members {
                    let connection = UInt64(room * members + member + 1)
                    let joined = try link.call(
                        .join(room: name, password: password, name: "m\(member)", since: nil),
                        connection: connection
                    )
                    guard case .success = joined.result else { throw BenchFailure("join \(name): \(joined.result)") }
                }
                try subscriber.subscribe(WireFormat.topic(room: name))
                names.append(name)
            }
            roomNames.append(names)
        }
        Thread.sleep(forTimeInterval: 0.3)
        while try subscriber.receive(dontWait: true) != nil {}
        print(
            "[BrokerBench] \(gateways) gateways × \(rooms) rooms × \(members) members ready; sending for \(duration) s with \(window) in flight per gateway"
        )

        let text = String(repeating: "x", count: max(1, textBytes))
        let poller = ZMQPoller(links.map { .socket($0.socket) } + [.socket(subscriber)])
        let start = DispatchTime.now().uptimeNanoseconds
        let end = start + UInt64(duration * 1e9)
        var sent = 0
        var answered = 0
        var refused = 0
        var published = 0
        var inFlight = [Int](repeating: 0, count: links.count)
        var next = [Int](repeating: 0, count: links.count)
        var lastReport = start
        func fill(_ index: Int) throws {
            while inFlight[index] < window {
                let names = roomNames[index]
                let room = names[next[index] % names.count]
                let connection = UInt64((next[index] % names.count) * members + 1)
                next[index] += 1
                try links[index].send(.message(room: room, text: text, key: ""), connection: connection)
                inFlight[index] += 1
                sent += 1
            }
        }
        for index in links.indices { try fill(index) }
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            if now >= end && inFlight.allSatisfy({ $0 == 0 }) { break }
            if now >= end + 5_000_000_000 { break }
            let readable = try poller.poll(timeoutMilliseconds: 100)
            for index in links.indices where readable.isReadable(links[index].socket) {
                while let frames = try links[index].socket.receive(dontWait: true) {
                    guard let frame = frames.last, let reply = try? WireReply.decode(frame) else { continue }
                    inFlight[index] -= 1
                    if case .success = reply.result { answered += 1 } else { refused += 1 }
                }
                if DispatchTime.now().uptimeNanoseconds < end { try fill(index) }
            }
            if readable.isReadable(subscriber) {
                while let frames = try subscriber.receive(dontWait: true) {
                    if frames.count == 3 { published += 1 }
                }
            }
            if now - lastReport >= 1_000_000_000 {
                lastReport = now
                let seconds = Double(now - start) / 1e9
                print(
                    "[BrokerBench] \(String(format: "%5.1f", seconds)) s: \(answered) answered (\(Int(Double(answered) / seconds))/s)"
                )
            }
        }
        // The broadcasts come on another connection: let the last ones arrive.
        let settle = DispatchTime.now().uptimeNanoseconds + 2_000_000_000
        while published < answered, DispatchTime.now().uptimeNanoseconds < settle {
            guard try ZMQPoller([.socket(subscriber)]).poll(timeoutMilliseconds: 100).isReadable(subscriber) else {
                continue
            }
            while let frames = try subscriber.receive(dontWait: true) {
                if frames.count == 3 { published += 1 }
            }
        }
        let seconds = Double(min(DispatchTime.now().uptimeNanoseconds, end) - start) / 1e9
        let rate = Double(answered) / seconds
        print(
            "[BrokerBench] answered \(answered) of \(sent) commands in \(String(format: "%.2f", seconds)) s: \(Int(rate)) commands/s; refused \(refused); broadcasts seen \(published)"
        )
        if let json {
            let summary =
                "{\"commands\": \(answered), \"sent\": \(sent), \"refused\": \(refused), \"seconds\": \(seconds), \"commands_per_second\": \(Int(rate)), \"broadcasts\": \(published)}\n"
            try summary.write(toFile: json, atomically: true, encoding: .utf8)
        }
        for link in links { link.socket.close() }
        subscriber.close()
        if refused > 0 || answered < sent || published < answered {
            throw BenchFailure(
                "lost or refused: \(sent) sent, \(answered) answered, \(refused) refused, \(published) broadcasts seen"
            )
        }
    }

    static func password(in json: [UInt8]) -> String? {
        let text = String(decoding: json, as: UTF8.self)
        guard let range = text.range(of: "\"password\":\"") else { return nil }
        return String(text[range.upperBound...].prefix { $0 != "\"" })
    }
}
