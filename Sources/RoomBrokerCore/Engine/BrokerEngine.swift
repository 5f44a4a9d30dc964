import ChatLogging
import ChatWire
import Logging
import SocketIO

/// The broker's logic between the sockets and the registry: decodes a gateway's command,
/// applies it to the ``RoomRegistry``, encodes each broadcast once and logs one line per event.
public struct BrokerEngine: Sendable {
    /// The rooms.
    public internal(set) var registry: RoomRegistry
    /// The gateways that said hello and have not gone silent since.
    public internal(set) var gateways: GatewayTable
    /// Where the event lines go (a standby quiets it until it takes over).
    public var logger: Logger
    /// Keeps lines that clients can trigger at will (refusals, bad frames) from flooding the log.
    let clientLines = LogThrottle<String>(limit: 20, per: .seconds(10))
    /// Samples the event lines (join, resume, leave, message) of each client address key past
    /// ``successLinesPerWindow`` in 10 s, so one address's flood cannot fill the log; what is left out
    /// is counted in the key's next line and a `suppressed` line at the end of its window.
    let successLines = LogThrottle<String>(limit: successLinesPerWindow, per: .seconds(10))
    /// Event lines logged per client address key per 10 s before sampling: 30 a second, more than one
    /// address's people chat.
    public static let successLinesPerWindow = 300
    /// The client address key of the command being applied (nil for ticks and gateways' own events),
    /// for ``successLines``.
    var commandClient: String?
    /// Rooms with events not yet followed by a head, and when their last event was (monotonic ms).
    private var unannounced: [String: UInt64] = [:]
    /// How long a room stays quiet before its head is published, ms.
    public static let quietMilliseconds: UInt64 = 500
    /// The most bytes of JSON (join) or replayed payloads (replay) in one reply: the frame limit the
    /// gateway enforces less a margin for the reply's other fields.
    public static let replyByteBudget = WireFormat.maxFrameSize - (64 << 10)
    /// Bytes of encoded history the engine keeps for join acks (``HistoryCache``): half the memory
    /// budget of history and replay (256 MiB by default), rooms joined least recently dropped first.
    static func historyCacheByteBudget(_ configuration: RoomRegistryConfiguration) -> Int {
        configuration.memoryBudget / 2
    }
    /// A member whose gateway has been silent this long (four missed heartbeats: likely dead) may be taken
    /// over by a join with its name and the password, before the gateway timeout drops it. A gateway
    /// whose connection closed and that has not spoken since is taken as dead at once
    /// (``gatewayClosed(_:now:)``).
    public static let supplantAfterSilenceMilliseconds: UInt64 = 1_000
    /// Most bytes of a gateway's hello name.
    public static let maxGatewayNameBytes = 128
    /// Most bytes of a command's client address key (printable ASCII).
    public static let maxClientBytes = 64
    /// Most bytes of a field copied from a refused command into its log line.
    static let logFieldBytes = 64
    /// This broker run's random id, sent in hello and heartbeat replies so gateways notice a restart.
    /// It names the state, not the process: a standby that takes over keeps it (the rooms are the same).
    public internal(set) var instance: String
    /// The fencing term of the pair when this state was last made active (1 for a broker alone), sent
    /// in hello and heartbeat replies: gateways ignore a broker answering with a lower one.
    public var term: UInt64 = 1
    /// Commands dropped unapplied because they waited past their ttl.
    public internal(set) var expiredCommands = 0
    /// The encoded history of recently joined rooms, which join acks copy (not in a snapshot).
    var historyCache: HistoryCache

    /// An engine over an empty registry.
    public init(
        configuration: RoomRegistryConfiguration = .init(),
        gatewayTimeoutMilliseconds: UInt64 = 5_000,
        logger: Logger
    ) {
        self.registry = RoomRegistry(configuration: configuration)
        self.historyCache = HistoryCache(byteBudget: Self.historyCacheByteBudget(configuration))
        self.gateways = GatewayTable(timeoutMilliseconds: gatewayTimeoutMilliseconds)
        self.logger = logger
        self.instance = String(UInt64.random(in: 1...UInt64.max), radix: 36)
    }

    /// An engine over the state in `snapshot` (a standby catching up with the active).
    public init(snapshot: BrokerSnapshot, logger: Logger) {
        self.registry = snapshot.registry
        self.historyCache = HistoryCache(byteBudget: Self.historyCacheByteBudget(snapshot.registry.configuration))
        self.gateways = snapshot.gateways
        self.unannounced = snapshot.unannounced
        self.instance = snapshot.instance
        self.expiredCommands = snapshot.expiredCommands
        self.term = snapshot.term
        self.logger = logger
    }

    /// The whole state, for a standby to start from.
    public func snapshot() -> BrokerSnapshot {
        BrokerSnapshot(
            registry: registry,
            gateways: gateways,
            unannounced: unannounced,
            instance: instance,
            expiredCommands: expiredCommands,
            term: term
        )
    }

    /// The random values the last live ``handle(frame:from:now:)`` drew, to replicate with its input.
    public mutating func takeEntropy() -> [UInt64] {
        registry.random.takeRecorded()
    }

    /// Applies an input the active applied (a standby): the same draws, the same clock, so the same
    /// state and output. `overdrawn` says whether it asked for more random values than the active did.
    public mutating func apply(_ input: BrokerInput) -> (output: BrokerOutput, overdrawn: Bool) {
        switch input {
        case .command(let gateway, let frame, let now, let entropy):
            let before = registry.random.overdrawn
            registry.random.replay(entropy)
            let output = handle(frame: frame, from: gateway, now: now)
            let overdrawn = registry.random.overdrawn != before
            _ = registry.random.takeRecorded()
            return (output, overdrawn)
        case .tick(let now):
            return (tick(now: now), false)
        case .gatewayClosed(let gateway, let now):
            return (gatewayClosed(gateway, now: now), false)
        }
    }

    /// A head for every room, in name order: published by a standby that just took over, so every
    /// gateway checks it has each room's last event (and replays what it lacks).
    public func heads() -> [WireBroadcast] {
        registry.rooms.keys.sorted().map { head(of: $0) }
    }

    /// Handles one command frame from `gateway` (its ZeroMQ routing id) at `now`.
    ///
    /// A gateway is known from its `hello` until it falls silent; any other command from an unknown
    /// gateway is answered with `unknown_gateway` and not applied. A command that waited longer than
    /// its ttl gets no reply at all (its gateway stopped waiting).
    public mutating func handle(frame: [UInt8], from gateway: String, now: BrokerClock) -> BrokerOutput {
        // Draws of an earlier command nobody took (``takeEntropy()``) go: they made its password or
        // token, and the state keeps no material a secret is derived from.
        registry.random.forgetRecorded()
        let known = gateways.touch(gateway, now: now.monotonic)
        let command: WireCommand
        do {
            command = try WireCommand.decode(frame)
        } catch {
            logClientTriggered(
                .badFrame,
                key: "gateway \(gateway)",
                ["gateway": "\(gateway.prefix(utf8Bytes: Self.logFieldBytes))", "reason": "\(error)"]
            )
            let ids = WireCommand.ids(ofUndecodable: frame)
            let reply = WireReply(
                kind: .invalid,
                requestID: ids.requestID,
                connectionID: ids.connectionID,
                result: .failure(ChatError(.badRequest, "malformed command: \(error)"))
            )
            return BrokerOutput(reply: reply)
        }
        let connection = ConnectionKey(gateway: gateway, connectionID: command.connectionID)
        if case .hello = command.body {
            // A hello is never stale: it (re)starts the gateway's clock relation.
        } else if !known {
            logClientTriggered(
                .unknownGateway,
                key: "gateway \(gateway)",
                ["gateway": "\(gateway.prefix(utf8Bytes: Self.logFieldBytes))", "reason": "\(command.body.kind)"]
            )
            return BrokerOutput(reply: WireReply(to: command, result: .failure(unknownGateway(gateway))))
        } else if case .expired(let report) = gateways.admit(
            gateway,
            sentAt: command.sentAt,
            ttl: command.ttl,
            now: now.monotonic
        ) {
            expiredCommands += 1
            if let report {
                logClientTriggered(
                    .expired,
                    key: "gateway \(gateway)",
                    ["gateway": "\(gateway)", "count": "\(report)"]
                )
            }
            return BrokerOutput()
        }
        commandClient = command.client.isEmpty ? nil : command.client
        defer { commandClient = nil }
        do {
            try Self.validateClient(command.client)
            try checkShard(command.body)
            let output = try apply(command, connection: connection, now: now)
            for broadcast in output.broadcasts { unannounced[broadcast.room] = now.monotonic }
            return output
        } catch {
            log(refusal: error, of: command, connection: connection)
            return BrokerOutput(reply: WireReply(to: command, result: .failure(error)))
        }
    }

    /// The connection of `gateway` closed (the kernel closes a killed process's sockets at once): until
    /// it speaks again, its members may be taken over by a join with their name and the room's password,
    /// so a client whose gateway died rejoins through another one at once. They stay members until
    /// then, or until the gateway timeout (a gateway that reconnects keeps them).
    public mutating func gatewayClosed(_ gateway: String, now: BrokerClock) -> BrokerOutput {
        guard gateways.markClosed(gateway, now: now.monotonic) else { return BrokerOutput() }
        logger.warning(
            "gateway-closed",
            metadata: [
                "gateway": "\(gateway)", "members": "\(registry.connectedMembersByGateway[gateway] ?? 0)",
                "reason": "its connection closed; its members may be taken over until it speaks again",
            ]
        )
        return BrokerOutput()
    }

    /// A gateway subscribed to `topic` (seen on the XPUB socket): publish the room's ``BroadcastKind/head``
    /// so the gateway knows its subscription is live.
    public func subscribed(topic: [UInt8]) -> BrokerOutput {
        guard let room = WireFormat.room(ofTopic: topic) else { return BrokerOutput() }
        return BrokerOutput(broadcasts: [head(of: room)])
    }

    private func head(of room: String) -> WireBroadcast {
        WireBroadcast(
            kind: .head,
            room: room,
            seq: registry.rooms[room]?.lastSeq ?? 0,
            gateway: "",
            connectionID: 0,
            payload: []
        )
    }

    /// Periodic work: publishes heads of rooms that fell quiet, drops silent gateways (announcing their
    /// members as left), reports dropped stale commands and expires empty rooms.
    public mutating func tick(now: BrokerClock) -> BrokerOutput {
        for summary in clientLines.endedWindows() {
            logger.notice("suppressed", metadata: summary.metadata)
        }
        for summary in successLines.endedWindows() {
            logger.info("suppressed", metadata: summary.metadata.merging(["reason": "event lines sampled"]) { $1 })
        }
        var output = BrokerOutput()
        // Rooms quiet for a moment after events get their head published: a gateway that lost the
        // last events (past the high-water mark) sees it behind and replays them.
        let quiet = unannounced.filter {
            now.monotonic >= $0.value && now.monotonic - $0.value >= Self.quietMilliseconds
        }.keys.sorted()
        for room in quiet {
            unannounced[room] = nil
            if registry.rooms[room] != nil { output.broadcasts.append(head(of: room)) }
        }
        for (gateway, count) in gateways.dueExpiryReports(now: now.monotonic) {
            logClientTriggered(.expired, key: "gateway \(gateway)", ["gateway": "\(gateway)", "count": "\(count)"])
        }
        for gateway in gateways.removeSilent(now: now.monotonic) {
            let dropped = registry.dropGateway(gateway, now: now)
            logger.warning(
                "gateway-lost",
                metadata: [
                    "gateway": "\(gateway)", "members": "\(dropped.events.count + dropped.away.count)",
                ]
            )
            for member in dropped.away {
                logger.info(
                    "away",
                    metadata: [
                        "room": "\(member.room)", "name": "\(member.name)", "reason": "gateway lost",
                        "gateway": "\(gateway)",
                    ]
                )
            }
            output.broadcasts += dropped.events.map { broadcast($0, reason: "gateway lost") }
            output.broadcasts += dropped.evicted.map { broadcast($0, reason: "too many disconnected members") }
            for event in dropped.events + dropped.evicted { unannounced[event.room] = now.monotonic }
        }
        for event in registry.expireSessions(now: now) {
            output.broadcasts.append(broadcast(event, reason: "session grace ended"))
            unannounced[event.room] = now.monotonic
        }
        for room in registry.expireEmptyRooms(now: now) {
            historyCache.remove(room)
            logger.info("room-expired", metadata: ["room": "\(room)"])
        }
        return output
    }
}
