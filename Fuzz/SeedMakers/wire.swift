// Writes the seed corpus of the `wire` fuzz target (Fuzz/Corpus/wire/) from real encoded frames.
// Rerun after a wire format change (from the repository root):
//   swiftc -parse-as-library Sources/ChatWire/*.swift Fuzz/SeedMakers/wire.swift -o .build-fuzz/wire-seeds \
//     && .build-fuzz/wire-seeds Fuzz/Corpus/wire
import Foundation

@main
enum WireSeeds {
    static func main() throws {
        let folder = URL(fileURLWithPath: CommandLine.arguments.dropFirst().first ?? "Fuzz/Corpus/wire")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        func save(_ name: String, _ selector: UInt8, _ bytes: [UInt8]) throws {
            try Data([selector] + bytes).write(to: folder.appendingPathComponent(name))
        }
        let commands: [(String, WireCommand.Body)] = [
            ("hello", .hello(gatewayName: "gw-1")), ("heartbeat", .heartbeat),
            ("create", .create(name: "ann", room: "", key: "")),
            ("create-room", .create(name: "ann", room: "lobby", key: "c:1")),
            ("join", .join(room: "lobby", password: "Abc23456789x", name: "ann")),
            ("join-since", .join(room: "lobby", password: "Abc23456789x", name: "ann", since: 41)),
            ("leave", .leave(room: "lobby")),
            ("message", .message(room: "lobby", text: "héllo 👋", key: "m-1.a")),
            ("post", .post(room: "lobby", password: "Abc23456789x", name: "bot", text: "deploy finished", key: "")),
            ("rooms", .listRooms(after: "", limit: 100)), ("rooms-after", .listRooms(after: "lobby", limit: 7)),
            ("disconnect", .disconnect), ("replay", .replay(room: "lobby", from: 3, to: 9)),
            (
                "join-pid",
                .join(room: "lobby", password: "Abc23456789x", name: "ann", pid: "0123456789abcdef0123456789abcdef")
            ),
            ("resume", .resume(pid: "0123456789abcdef0123456789abcdef", instance: "k3x9", since: 57)),
            ("resume-no-offset", .resume(pid: "0123456789abcdef0123456789abcdef", instance: "", since: nil)),
            ("status", .status),
        ]
        for (name, body) in commands {
            let command = WireCommand(
                requestID: 7,
                connectionID: 42,
                client: "127.0.0.1",
                sentAt: 123_456,
                ttl: 5_000,
                body: body
            )
            try save("command-\(name)", 0, command.encoded())
        }
        let replies: [(String, WireReply)] = [
            (
                "join",
                WireReply(
                    kind: .join,
                    requestID: 7,
                    connectionID: 42,
                    result: .success(
                        .init(
                            room: "lobby",
                            seq: 8,
                            json: Array(#"{"room":"lobby","seq":8,"members":["ann"],"count":1,"history":[]}"#.utf8)
                        )
                    )
                )
            ),
            (
                "join-complete",
                WireReply(
                    kind: .join,
                    requestID: 8,
                    connectionID: 42,
                    result: .success(
                        .init(
                            room: "lobby",
                            seq: 9,
                            json: Array(
                                #"{"room":"lobby","seq":9,"members":["ann"],"count":1,"history":[],"complete":false}"#
                                    .utf8
                            )
                        )
                    )
                )
            ),
            (
                "create",
                WireReply(
                    kind: .create,
                    requestID: 1,
                    connectionID: 2,
                    result: .success(
                        .init(
                            room: "r1",
                            json: Array(#"{"room":"r1","password":"Abc23456789x"}"#.utf8)
                        )
                    )
                )
            ),
            (
                "replay",
                WireReply(
                    kind: .replay,
                    requestID: 3,
                    connectionID: 0,
                    result: .success(
                        .init(
                            room: "lobby",
                            seq: 9,
                            events: [
                                .init(seq: 8, gseq: 20, payload: Array(#"42["message",{}]"#.utf8)),
                                .init(seq: 9, gseq: 23, payload: Array(#"42["left",{}]"#.utf8)),
                            ]
                        )
                    )
                )
            ),
            (
                "resume",
                WireReply(
                    kind: .resume,
                    requestID: 4,
                    connectionID: 42,
                    result: .success(
                        .init(
                            events: [.init(seq: 8, gseq: 58, payload: Array(#"42["message",{}]"#.utf8))],
                            rooms: [.init(room: "lobby", seq: 10), .init(room: "other", seq: 3)],
                            instance: "k3x9"
                        )
                    )
                )
            ),
            (
                "hello",
                WireReply(
                    kind: .hello,
                    requestID: 5,
                    connectionID: 0,
                    result: .success(.init(instance: "k3x9", term: 2))
                )
            ),
            (
                "refused",
                WireReply(
                    kind: .join,
                    requestID: 7,
                    connectionID: 42,
                    result: .failure(
                        ChatError(.wrongPassword, "The password does not open room lobby.")
                    )
                )
            ),
            (
                "invalid",
                WireReply(
                    kind: .invalid,
                    requestID: 0,
                    connectionID: 0,
                    result: .failure(
                        ChatError(.badRequest, "frame truncated")
                    )
                )
            ),
        ]
        for (name, reply) in replies { try save("reply-\(name)", 1, reply.encoded()) }
        let broadcasts: [(String, WireBroadcast)] = [
            (
                "message",
                WireBroadcast(
                    kind: .message,
                    room: "lobby",
                    seq: 8,
                    gseq: 77,
                    gateway: "gw-1",
                    connectionID: 42,
                    payload: Array(#"42["message",{"room":"lobby","seq":8,"name":"ann","text":"hi","ts":1}]"#.utf8)
                )
            ),
            (
                "joined",
                WireBroadcast(
                    kind: .joined,
                    room: "a-b_9",
                    seq: 1,
                    gateway: "gw-2",
                    connectionID: 1,
                    payload: Array(#"42["joined",{"room":"a-b_9","seq":1,"name":"bob","members":2}]"#.utf8)
                )
            ),
            ("head", WireBroadcast(kind: .head, room: "lobby", seq: 12, gateway: "", connectionID: 0, payload: [])),
        ]
        for (name, broadcast) in broadcasts {
            // Selector 2 + 3 * 3: three frames; every frame but the last is a one-byte length and its bytes.
            let frames = broadcast.encoded()
            var bytes: [UInt8] = []
            for frame in frames.dropLast() { bytes += [UInt8(frame.count)] + frame }
            try save("broadcast-\(name)", 2 + 3 * 3, bytes + frames[frames.count - 1])
        }
    }
}
