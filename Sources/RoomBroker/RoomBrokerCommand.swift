import ArgumentParser
import BrokerStorage
import ChatCommandLine
import ChatLogging
import ChatWire
import Logging
import ProcessLimits
import Prometheus
import RoomBrokerCore
import ServiceLifecycle
import ZeroMQ

/// `RoomBroker`: the one process that owns rooms, passwords, membership and message order.
@main
struct RoomBrokerCommand: EnvironmentConfigurableCommand {  // every option also by CHAT_* (see --help)
    static let configuration = CommandConfiguration(
        commandName: "RoomBroker",
        abstract: "The chat room broker: owns rooms, passwords and message order for every gateway.",
        discussion: """
            Gateways send commands to the ROUTER socket at --commands and subscribe per room to the \
            XPUB socket at --broadcasts. Logs one line per event on standard output; never logs passwords.
            """
    )

    @Option(help: "ZeroMQ endpoint (ROUTER) that gateways send commands to.")
    var commands = "tcp://127.0.0.1:5555"

    @Option(help: "ZeroMQ endpoint (XPUB) that room broadcasts are published on.")
    var broadcasts = "tcp://127.0.0.1:5556"

    @Option(help: "Messages kept per room and sent to members when they join.")
    var history = 100

    @Option(help: "Seconds a room with no members is kept before it is deleted.")
    var emptyRoomGrace = 300

    @Option(
        help:
            "Seconds of silence after which a gateway is dropped and its members are disconnected (kept for --session-grace)."
    )
    var gatewayTimeout = 5

    @Option(
        help:
            "Seconds a member whose connection dropped is kept (name taken, resumable by a join with its name and the password) before it is announced as left; 0: at once."
    )
    var sessionGrace = 120

    @Option(help: "Most rooms the broker holds at once.")
    var maxRooms = 10_000

    @Option(
        help: ArgumentHelp(
            "Most members in one room, connected or kept for their session grace.",
            discussion:
                "A room keeps at most 1,000 disconnected members (half this cap if smaller) and 64 of one client address; past that the one gone longest leaves first. A disconnected member makes room for a newcomer: only connected members can fill a room."
        )
    )
    var maxMembersPerRoom = RoomRegistryConfiguration().maxMembersPerRoom

    @Option(
        help: ArgumentHelp(
            "Most members kept disconnected for their session grace, over all rooms.",
            discussion:
                "Past it the membership that dropped longest ago leaves at once (a left event), whichever room it is in."
        )
    )
    var maxDisconnectedMembers = RoomRegistryConfiguration().maxDisconnectedMembers

    @Option(help: "Wrong passwords allowed per connection per minute.")
    var failuresPerConnection = 5

    @Option(help: "Wrong passwords allowed per client address per minute, over all its connections.")
    var failuresPerClient = 20

    @Option(
        help: ArgumentHelp(
            "Rooms one client address (IPv4 address or IPv6 /64) may create per minute, over all its connections.",
            discussion:
                "Its IPv6 /56 may create 4 times as many, its IPv6 /48 or IPv4 /24 16 times as many."
        )
    )
    var createsPerClient = 30

    @Option(help: "Rooms all clients together may create per second (a burst of ten seconds' worth).")
    var createsPerSecond = RoomRegistryConfiguration().createsPerSecond

    @Option(
        help: "Live rooms one client address (IPv4 address or IPv6 /64) may have created; freed when a room expires."
    )
    var roomsPerAddress = 20

    @Option(
        help: ArgumentHelp(
            "Joins, resumes and creates one client address (IPv4 address or IPv6 /64) may make at once, over all its connections on every gateway.",
            discussion:
                "A token bucket per address that refills at --joins-per-address a second; past it the broker answers rate_limited with the seconds to wait. A join's ack carries the room's members and history (up to ~1 MB), so this keeps one address from saturating the broker; the default lets 60 people behind one NAT rejoin at once."
        )
    )
    var joinBurstPerAddress = RoomRegistryConfiguration().joinBurstPerClient

    @Option(
        help:
            "Joins, resumes and creates per second one client address may make on average (see --join-burst-per-address)."
    )
    var joinsPerAddress = RoomRegistryConfiguration().joinsPerClientPerSecond

    @Option(help: "KiB of messages kept per room (besides --history messages); the oldest go first.")
    var historyBudget = 256

    @Option(help: "KiB of encoded events kept per room for gateways that fill a gap (at most 256 events).")
    var replayBudget = 512

    @Option(help: "MiB of history and replay kept over all rooms together; past it the oldest go first.")
    var memoryBudget = 512

    @Option(help: "Broadcasts queued per gateway before the broker drops (gateways then re-fetch by sequence number).")
    var broadcastHighWaterMark: Int32 = 100_000

    @Option(
        help: "In a pair of brokers: primary (active when both start together) or backup. Needs --peer-bind and --peer."
    )
    var pairRole: PairRole?

    @Option(help: "In a pair: the ZeroMQ endpoint this broker binds for its peer's updates and heartbeats.")
    var peerBind: String?

    @Option(help: "In a pair: the other broker's --peer-bind endpoint.")
    var peer: String?

    @Option(
        help:
            "In a pair: milliseconds of silence after which the peer counts as gone (a quorum of gateway votes then makes the standby take over)."
    )
    var peerTimeout = 1_000

    @Flag(
        help:
            "In a pair: a broker that never got the pair's state may take over as soon as its peer is silent and the gateways vote, starting with no rooms. Without it, it waits until the peer has been silent for ten peer timeouts (gone for good, not busy or cut off), so that a standby restarted while the active is slow never replaces the rooms with nothing."
    )
    var allowTakeoverWithoutState = false

    @OptionGroup(title: "Logging")
    var logging: LoggingOptions

    @OptionGroup(title: "Keeping rooms on disk")
    var storage: StorageOptions

    @Option(
        help: ArgumentHelp(
            "This broker's CURVE secret key file (NAME.key_secret, mode 0600; scripts/keys writes them): every ZeroMQ socket becomes a CURVE server, and only the keys of --authorized-keys may connect. Needs --authorized-keys.",
            valueName: "file"
        )
    )
    var curveSecretKey: String?

    @Option(
        help: ArgumentHelp(
            "A folder of public key files (*.key): the gateways (and other clients) allowed to connect (the ZeroMQ guide's Ironhouse). Loaded at start and again on SIGHUP (a removed key's commands are refused from then on). A key named NAME may connect with the routing id NAME or NAME/anything (a gateway's default with --curve-secret-key NAME.key_secret).",
            valueName: "dir"
        )
    )
    var authorizedKeys: String?

    @Option(
        help: ArgumentHelp(
            "In a pair with CURVE: the peer broker's public key file (its NAME.key), pinned by the link to it and the only key allowed on --peer-bind.",
            valueName: "file"
        )
    )
    var peerPublicKey: String?

    @Flag(
        help:
            "For tests and benchmarks only: allow plain tcp:// (no CURVE) to a loopback address (127.0.0.0/8, ::1, localhost), where any local user can connect (the peer link then listens to one connection at a time). Without keys, only ipc:// and inproc:// are allowed otherwise."
    )
    var insecureLoopback = false

    @Option(
        help: ArgumentHelp(
            "Serve Prometheus metrics at http://HOST:PORT/metrics on a listener of their own, e.g. 127.0.0.1:9464 ([::1]:9464 for IPv6).",
            discussion:
                "Rooms, members, commands by kind, replies by code, broadcasts, role, term, gateways and the replication lag. Default: off."
        )
    )
    var metrics: String?

    @Option(
        help: ArgumentHelp(
            "I/N: this broker (and its pair) owns the rooms of shard I of N; commands about other rooms are refused with wrong_shard.",
            discussion:
                "A room's shard is SipHash-2-4 of its name under --shard-key, mod N (docs/PROTOCOL.md, Shards). Both brokers of a pair take the same; gateways take --shards N and list shard 0's brokers first."
        )
    )
    var shard = "0/1"

    @Option(
        help: ArgumentHelp(
            "With --shard I/N, N > 1: the cluster's room placement key (cluster.shard_key from scripts/keys, mode 0600); every gateway and broker of the cluster needs the same file.",
            valueName: "file"
        )
    )
    var shardKey: String?

    func validate() throws {
        guard history >= 1, history <= 10_000 else { throw ValidationError("--history must be between 1 and 10000") }
        guard emptyRoomGrace >= 0 else { throw ValidationError("--empty-room-grace must not be negative") }
        guard gatewayTimeout >= 1 else { throw ValidationError("--gateway-timeout must be at least 1 second") }
        guard sessionGrace >= 0, sessionGrace <= 86_400 else {
            throw ValidationError("--session-grace must be 0 to 86400 seconds")
        }
        guard maxRooms >= 1 else { throw ValidationError("--max-rooms must be at least 1") }
        guard maxMembersPerRoom >= 2 else { throw ValidationError("--max-members-per-room must be at least 2") }
        guard maxDisconnectedMembers >= 1 else {
            throw ValidationError("--max-disconnected-members must be at least 1")
        }
        guard createsPerSecond >= 1, createsPerSecond <= 1_000_000 else {
            throw ValidationError("--creates-per-second must be 1 to 1000000")
        }
        guard failuresPerConnection >= 1, failuresPerClient >= 1, createsPerClient >= 1, roomsPerAddress >= 1 else {
            throw ValidationError(
                "--failures-per-connection, --failures-per-client, --creates-per-client and --rooms-per-address must be at least 1"
            )
        }
        guard (1...1_000_000).contains(joinBurstPerAddress), (1...1_000_000).contains(joinsPerAddress) else {
            throw ValidationError("--join-burst-per-address and --joins-per-address must be 1 to 1000000")
        }
        guard historyBudget >= 16, replayBudget >= 80, memoryBudget >= 1 else {
            throw ValidationError(
                "--history-budget must be at least 16 (KiB), --replay-budget at least 80 (KiB; one event is up to 64 KiB), --memory-budget at least 1 (MiB)"
            )
        }
        guard historyBudget <= 1 << 20, replayBudget <= 1 << 20, memoryBudget <= 1 << 20 else {
            throw ValidationError(
                "--history-budget, --replay-budget (KiB) and --memory-budget (MiB) must be at most 1048576"
            )
        }
        guard (pairRole == nil) == (peerBind == nil), (pairRole == nil) == (peer == nil) else {
            throw ValidationError(
                "a broker pair needs all of --pair-role, --peer-bind and --peer (or none of them for a broker alone)"
            )
        }
        guard peerTimeout >= 200, peerTimeout <= 60_000 else {
            throw ValidationError("--peer-timeout must be 200 to 60000 ms")
        }
        guard broadcastHighWaterMark >= 1 else {
            throw ValidationError(
                "--broadcast-high-water-mark must be at least 1 (0 would let one stalled gateway's queue grow without bound); the default is 100000"
            )
        }
        if let metrics, ListenAddress(metrics) == nil {
            throw ValidationError("--metrics must be HOST:PORT, e.g. 127.0.0.1:9464 or [::1]:9464 (got '\(metrics)')")
        }
        do {
            if try Shard(parsing: shard).count > 1, shardKey == nil {
                throw ValidationError(
                    "--shard \(shard) needs --shard-key FILE: the cluster's room placement key (scripts/keys writes keys/\(ShardKeyFile.fileName)), the same file for every gateway and broker"
                )
            }
        } catch let error as Shard.Invalid {
            throw ValidationError("--shard: \(error)")
        }
        try validateLinks()
    }

    /// The CURVE options go together, and every endpoint passes the ``EndpointPolicy``.
    private func validateLinks() throws {
        guard (curveSecretKey == nil) == (authorizedKeys == nil) else {
            throw ValidationError(
                "--curve-secret-key and --authorized-keys go together: the broker's key pair, and the public keys of the gateways allowed to connect (scripts/keys writes both into keys/)"
            )
        }
        if curveSecretKey != nil, pairRole != nil, peerPublicKey == nil {
            throw ValidationError(
                "a broker pair with CURVE needs --peer-public-key: the other broker's NAME.key (e.g. keys/broker-b.key for broker-a)"
            )
        }
        if peerPublicKey != nil, curveSecretKey == nil || pairRole == nil {
            throw ValidationError(
                "--peer-public-key is for a broker pair with CURVE: add --curve-secret-key, --authorized-keys and the pair options, or leave it out"
            )
        }
        let policy = EndpointPolicy(hasCurveKeys: curveSecretKey != nil, insecureLoopback: insecureLoopback)
        do {
            try policy.check([commands, broadcasts] + [peerBind, peer].compactMap { $0 })
        } catch {
            throw ValidationError(error.message(keyFlags: "--curve-secret-key and --authorized-keys"))
        }
    }

    /// Loads the key files of the CURVE options; nil without them. Its errors say what to do.
    private func loadCurve() throws(CurveKeyFileError) -> BrokerCurve? {
        guard let curveSecretKey, let authorizedKeys else { return nil }
        var curve = BrokerCurve(
            keyPair: try CurveKeyFile.readKeyPair(path: curveSecretKey),
            authorizedKeys: try CurveKeyFile.readAllowList(directory: authorizedKeys),
            authorizedKeysDirectory: authorizedKeys
        )
        if let peerPublicKey { curve.peerPublicKey = try CurveKeyFile.readPublicKey(path: peerPublicKey) }
        return curve
    }

    /// The `--shard-key` file's key (with several shards); nil otherwise.
    private func loadShardKey() throws -> ShardKey? {
        guard let shardKey, try Shard(parsing: shard).count > 1 else { return nil }
        guard let key = ShardKey(bytes: try ShardKeyFile.read(path: shardKey)) else {
            throw CurveKeyFileError.badShardKey(path: shardKey)
        }
        return key
    }

    private var pairConfiguration: PairConfiguration? {
        guard let pairRole else { return nil }
        var pair = PairConfiguration(role: pairRole)
        pair.peerTimeoutMilliseconds = UInt64(peerTimeout)
        pair.heartbeatMilliseconds = UInt64(max(50, peerTimeout / 4))
        if allowTakeoverWithoutState { pair.statelessTakeoverMilliseconds = 0 }
        return pair
    }

    func run() async throws {
        logging.bootstrap()
        let logger = Logger(label: "broker")
        let curve = try loadCurve()
        if let limit = FileDescriptorLimit.raiseToMaximum() {
            logger.info("file-descriptors", metadata: ["limit": "\(limit)"])
        }
        var registry = RoomRegistryConfiguration()
        registry.historySize = history
        registry.emptyRoomGraceMilliseconds = UInt64(emptyRoomGrace) * 1000
        registry.maxRooms = maxRooms
        registry.maxMembersPerRoom = maxMembersPerRoom
        registry.maxDisconnectedMembers = maxDisconnectedMembers
        registry.sessionGraceMilliseconds = UInt64(sessionGrace) * 1000
        registry.failuresPerConnection = failuresPerConnection
        registry.failuresPerClient = failuresPerClient
        registry.createsPerClient = createsPerClient
        registry.createsPerSecond = createsPerSecond
        registry.roomsPerClient = roomsPerAddress
        registry.joinBurstPerClient = joinBurstPerAddress
        registry.joinsPerClientPerSecond = joinsPerAddress
        registry.historyByteBudget = historyBudget << 10
        registry.replayByteBudget = replayBudget << 10
        registry.memoryBudget = memoryBudget << 20
        var services: [any Service] = []
        var brokerMetrics: BrokerMetrics?
        if let address = metrics.flatMap(ListenAddress.init) {
            let prometheus = PrometheusCollectorRegistry()
            brokerMetrics = BrokerMetrics(
                factory: PrometheusMetricsFactory(registry: prometheus),
                shard: try Shard(parsing: shard)
            )
            let logDrops = LogDropMetrics(factory: PrometheusMetricsFactory(registry: prometheus))
            services.append(
                MetricsListener(
                    address: address,
                    text: {
                        logDrops.update()
                        return prometheus.emitToBuffer()
                    },
                    logger: logger
                )
            )
        }
        registry.shard = try Shard(parsing: shard, key: try loadShardKey())
        let (journal, recovered) = try openJournal(logger: logger)
        let service = BrokerService(
            configuration: BrokerConfiguration(
                commandsEndpoint: commands,
                broadcastsEndpoint: broadcasts,
                registry: registry,
                gatewayTimeoutMilliseconds: UInt64(gatewayTimeout) * 1000,
                broadcastHighWaterMark: broadcastHighWaterMark,
                pair: pairConfiguration,
                peerBind: peerBind,
                peerConnect: peer,
                curve: curve,
                metrics: brokerMetrics,
                journal: journal,
                recovered: recovered,
                snapshotEveryBytes: storage.snapshotEvery << 20
            ),
            logger: logger
        )
        services.insert(service, at: 0)
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
    }
}

extension PairRole: ExpressibleByArgument {}

extension RoomBrokerCommand {
    /// Opens `--data-dir` and reads its state back (nil, nil without it). Its errors say what to do.
    func openJournal(logger: Logger) throws -> (BrokerJournal?, RecoveredState?) {
        guard let path = storage.dataDir else { return (nil, nil) }
        logger.info("journal-opening", metadata: ["dir": "\(path)", "fsync": "\(storage.fsync.rawValue)"])
        return try BrokerJournal.open(path: path, mode: storage.fsync, logger: logger)
    }
}
