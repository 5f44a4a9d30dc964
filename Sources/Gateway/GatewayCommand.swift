import ArgumentParser
import ChatAPI
import ChatCommandLine
import ChatLogging
import ChatWire
import Foundation
import GatewayCore
import Logging
import Metrics
import NIOCore
import ProcessLimits
import Prometheus
import ServiceLifecycle
import ZeroMQ

/// `Gateway`: terminates Socket.IO clients and the HTTP API, and forwards to the room broker.
@main
struct GatewayCommand: EnvironmentConfigurableCommand {  // every option also by CHAT_* (see --help)
    static let configuration = CommandConfiguration(
        commandName: "Gateway",
        abstract: "A chat gateway: Socket.IO (v5, WebSocket transport) and HTTP API in front of the room broker.",
        discussion: """
            Several gateways may listen on the same --port (SO_REUSEPORT): the kernel spreads new \
            connections among them. Logs one line per connection event on standard output. \
            SIGTERM drains: stops accepting, closes every WebSocket with 1001 "server restarting: \
            reconnect", sends the members' disconnects to the broker and exits within 10 s. \
            SIGHUP reloads the --tls-cert and --tls-key files (new connections get them; logged as \
            tls-reloaded with the certificate's expiry and SHA-256 fingerprint); without TLS it is ignored. \
            /status, /status.json and /metrics are served on --admin only.
            """
    )

    @Option(help: "Address to listen on (0.0.0.0 for every interface).")
    var host = GatewayServerConfiguration.defaults.host

    @Option(help: "TCP port to listen on; gateways on one machine may share it.")
    var port = GatewayServerConfiguration.defaults.port

    @Option(
        help: ArgumentHelp(
            "The broker's command endpoint (its ROUTER socket); give it twice for the two brokers of a pair.",
            discussion: "Default: tcp://127.0.0.1:5555."
        )
    )
    var brokerCommands: [String] = []

    @Option(
        help: ArgumentHelp(
            "The broker's broadcast endpoint (its XPUB socket); twice for a pair, in the order of --broker-commands.",
            discussion: "Default: tcp://127.0.0.1:5556."
        )
    )
    var brokerBroadcasts: [String] = []

    /// The brokers of --broker-commands and --broker-broadcasts, paired by order.
    var brokers: [BrokerEndpoints] {
        guard !brokerCommands.isEmpty || !brokerBroadcasts.isEmpty else {
            return [BrokerEndpoints(commands: "tcp://127.0.0.1:5555", broadcasts: "tcp://127.0.0.1:5556")]
        }
        return zip(brokerCommands, brokerBroadcasts).map { BrokerEndpoints(commands: $0, broadcasts: $1) }
    }

    @Option(
        help: ArgumentHelp(
            "Address of the admin listener: /status, /status.json and /metrics (never served on --port). Port 0: a free one, logged as admin-listening.",
            discussion:
                "No authentication: keep it on loopback or an address only operators and Prometheus reach; on one machine, one port per gateway.",
            valueName: "host:port"
        )
    )
    var admin = "127.0.0.1:0"

    @Option(
        help: ArgumentHelp(
            "The URL browsers open this server by, e.g. https://chat.example.com: WebSockets are accepted from this Origin (and those of --allowed-origin). Needed when --host is not a loopback address and no --allowed-origin is given (a request's own Host header is trusted only on loopback: DNS rebinding).",
            valueName: "url"
        )
    )
    var publicOrigin: String?

    @Option(help: "Folder of the browser client served at /.")
    var staticDir = "static"

    @Option(
        help:
            "An Origin allowed to open WebSockets, e.g. https://chat.example.com (repeatable; '*' allows any). Default: the gateway's own origin."
    )
    var allowedOrigin: [String] = []

    @Option(
        help:
            "Event-loop threads of this gateway. More loops per gateway cost a little less CPU and memory per delivery than more gateways; scripts/run starts two gateways (one serves while the other restarts) with cores/2 loops each."
    )
    var threads = 1

    @Option(
        help:
            "Fan-out: least milliseconds between two write passes of one event loop for events of busy rooms (rooms with another event within this time; 0: write as soon as the loop is free). Up to this much latency in busy rooms buys fewer, larger writes: 4 halves the gateway CPU per delivery at 1000 msg/s in a room of 200, for ~2 ms more at p50 (docs/BENCHMARKS.md). Default 0: no added latency; batches that arrive while a loop is busy are still written together."
    )
    var fanOutWindow = 0.0

    @Option(help: "Seconds between Engine.IO pings.")
    var pingInterval = Self.seconds(GatewayServerConfiguration.defaults.pingInterval)

    @Option(help: "Seconds to wait for a pong before closing a connection.")
    var pingTimeout = Self.seconds(GatewayServerConfiguration.defaults.pingTimeout)

    @Option(help: "Largest client message in bytes; larger ones close the connection.")
    var maxPayload = GatewayServerConfiguration.defaults.maxPayload

    @Option(help: "Bytes queued for one slow client before it is disconnected.")
    var maxOutboundBytes = GatewayServerConfiguration.defaults.maxOutboundBufferedBytes

    @Option(
        help:
            "Seconds a connection may take to send a complete HTTP request (from its accept or the previous response)."
    )
    var requestTimeout = Self.fractionalSeconds(GatewayServerConfiguration.defaults.requestTimeout)

    @Option(help: "Seconds a WebSocket may stay without a Socket.IO CONNECT (40) after its upgrade.")
    var connectTimeout = Self.fractionalSeconds(GatewayServerConfiguration.defaults.connectTimeout)

    @Option(help: "Seconds a fragmented WebSocket message may take from its first fragment to its last.")
    var fragmentTimeout = Self.fractionalSeconds(GatewayServerConfiguration.defaults.fragmentTimeout)

    @Option(
        help:
            "A reverse proxy (CIDR, e.g. 10.0.0.0/8 or 2001:db8::/32; repeatable) whose Forwarded / X-Forwarded-For headers name the client. Default: none, the TCP peer is the client."
    )
    var trustedProxy: [String] = []

    @Option(
        help:
            "Most connections from one client address (IPv6: one /64; its /56 and /48 may hold 4× and 16× as many) in this gateway process."
    )
    var maxConnectionsPerAddress = GatewayServerConfiguration.defaults.maxConnectionsPerAddress

    @Option(help: "Most connections open in this gateway process.")
    var maxConnections = GatewayServerConfiguration.defaults.maxConnections

    @Option(
        help:
            "HTTP API requests per second one client address may make on average (IPv6: per /64; its /56 and /48 get 4× and 16×)."
    )
    var httpRequestsPerSecond = GatewayServerConfiguration.defaults.httpRequestsPerSecond

    @Option(help: "HTTP API requests one client address may make in a burst.")
    var httpBurst = GatewayServerConfiguration.defaults.httpRequestBurst

    @Option(
        help:
            "This gateway's id towards the broker (default: generated, unique per process; with --curve-secret-key NAME.key_secret it starts with NAME/, and a given one must be NAME or start with NAME/)."
    )
    var gatewayID: String?

    @Flag(
        help:
            "Bind the port only once the broker has answered (a gateway joining a shared port then never answers a client it cannot serve)."
    )
    var listenOnceBrokerAnswers = false

    @Flag(
        help:
            "Socket.IO connection-state recovery: CONNECT answers a pid, every room event carries its offset as an extra last argument (handlers written for one argument must accept it), and a client reconnecting with {pid, offset} gets its rooms back and every event it missed."
    )
    var connectionStateRecovery = false

    @Option(
        help:
            "A file created once the gateway listens and the broker has answered it, removed when it starts draining (for supervisors)."
    )
    var readyFile: String?

    @OptionGroup(title: "Logging")
    var logging: LoggingOptions

    @Option(
        help: ArgumentHelp(
            "PEM certificate chain (the server's certificate first, then its intermediates, e.g. fullchain.pem): the port then serves https:// and wss:// only. Needs --tls-key.",
            valueName: "file"
        )
    )
    var tlsCert: String?

    @Option(help: ArgumentHelp("PEM private key of --tls-cert, unencrypted (keep it mode 0600).", valueName: "file"))
    var tlsKey: String?

    @Option(
        help: ArgumentHelp(
            "This gateway's CURVE secret key file (NAME.key_secret, mode 0600; scripts/keys writes them): the links to the brokers are encrypted, and the brokers let in only keys of their --authorized-keys. Needs --broker-public-key.",
            valueName: "file"
        )
    )
    var curveSecretKey: String?

    @Option(
        help: ArgumentHelp(
            "A broker's public key file (its NAME.key), pinned: the link talks only to the broker holding its secret. Once for all brokers, or once per --broker-commands, in the same order.",
            valueName: "file"
        )
    )
    var brokerPublicKey: [String] = []

    @Option(
        help: ArgumentHelp(
            "The name the brokers' --authorized-keys give this gateway's key (its NAME.key there): routing ids start with NAME/. Default: the --curve-secret-key file's name without .key_secret.",
            valueName: "name"
        )
    )
    var curveKeyName: String?

    @Flag(
        help:
            "Allow plain tcp:// (no CURVE) to a loopback address (127.0.0.0/8, ::1, localhost). Without keys, only ipc:// and inproc:// are allowed otherwise."
    )
    var insecureLoopback = false

    @Option(
        help: ArgumentHelp(
            "Rooms are sharded over this many brokers (or pairs), each started with --shard I/N.",
            discussion:
                "List the brokers in shard order: --broker-commands (and --broker-broadcasts) N times (one broker per shard) or 2N times (a pair per shard, shard 0's pair first). A room's commands go to its shard (SipHash-2-4 of its name under --shard-key, mod N), new rooms to the shards in turn; not with --connection-state-recovery. Needs --shard-key."
        )
    )
    var shards = 1

    @Option(
        help: ArgumentHelp(
            "With --shards N > 1: the cluster's room placement key (cluster.shard_key from scripts/keys, mode 0600); every gateway and broker of the cluster needs the same file.",
            valueName: "file"
        )
    )
    var shardKey: String?

    func run() async throws {
        logging.bootstrap()
        let id = routingID
        let logger = Logger(label: "gateway")
        if let limit = FileDescriptorLimit.raiseToMaximum() {
            logger.info("file-descriptors", metadata: ["limit": "\(limit)"])
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let logDrops = LogDropMetrics(factory: MetricsSystem.factory)
        var server = GatewayServerConfiguration(
            host: host,
            port: port,
            staticDirectory: staticDir,
            allowedOrigins: allowedOrigin + (publicOrigin.map { [$0] } ?? []),
            pingInterval: .seconds(Int64(pingInterval)),
            pingTimeout: .seconds(Int64(pingTimeout)),
            maxPayload: maxPayload,
            maxOutboundBufferedBytes: maxOutboundBytes
        )
        server.requestTimeout = Self.timeAmount(seconds: requestTimeout)
        server.connectTimeout = Self.timeAmount(seconds: connectTimeout)
        server.fragmentTimeout = Self.timeAmount(seconds: fragmentTimeout)
        server.trustedProxies = TrustedProxies(trustedProxy.compactMap { AddressRange($0) })
        server.maxConnectionsPerAddress = maxConnectionsPerAddress
        server.maxConnections = maxConnections
        server.httpRequestsPerSecond = httpRequestsPerSecond
        server.httpRequestBurst = httpBurst
        let tls = try loadTLS(logger: logger)
        server.tls = tls
        let curve = try loadCurve()
        if let curve {
            logger.info(
                "link-keys",
                metadata: [
                    "curve": "\(curve.keyPair.publicKey.z85)",
                    "pinned": "\(curve.serverKeys.map(\.prefix).joined(separator: " "))",
                ]
            )
        }
        // One server key for all brokers, or one per broker: then split by shard like the brokers.
        let serverKeysByShard = try curve.map { curve in
            curve.serverKeys.count <= 1
                ? Array(repeating: curve.serverKeys, count: shards)
                : try ShardRouter.split(curve.serverKeys, shards: shards)
        }
        let shardBrokers = try ShardRouter.split(brokers, shards: shards).enumerated().map { index, brokers in
            var configuration = try BrokerLinkConfiguration(brokers: brokers, gatewayID: id)
            if let curve, let serverKeysByShard {
                configuration.curve = CurveClientKeys(keyPair: curve.keyPair, serverKeys: serverKeysByShard[index])
            }
            return configuration
        }
        let gateway = try ChatGateway(
            shards: shardBrokers,
            threads: threads,
            fanOutWindow: .nanoseconds(Int64(fanOutWindow * 1_000_000)),
            connectionStateRecovery: connectionStateRecovery,
            placementKey: try loadShardKey(logger: logger),
            logger: logger
        )
        let http = HTTPServerService(
            gateway: gateway,
            gatewayID: id,
            configuration: server,
            listenOnceBrokerAnswers: listenOnceBrokerAnswers,
            logger: logger
        )
        let adminListener = AdminListenerService(
            // Checked by validate().
            address: ListenAddress(admin) ?? ListenAddress.loopbackAnyPort,
            gateway: gateway,
            metricsText: {
                logDrops.update()
                return registry.emitToBuffer()
            },
            logger: logger
        )
        // Started together; on SIGTERM/SIGINT told to stop in reverse order, each once the one after it
        // returned: the watchdog is armed, the ready file goes, the admin listener closes (a replacement
        // waiting for its address gets it), the server drains (the sessions queue
        // their members' disconnects), then the link sends those and closes. The event loops go last.
        var services: [any Service] = [
            BrokerLinkService(link: gateway.link), TLSReloadService(tls: tls, logger: logger), http, adminListener,
        ]
        Self.hintIfTheBrokerIsSilent(link: gateway.link, curve: curve, logger: logger)
        if let readyFile {
            let link = gateway.link
            services.append(
                ReadyFile(path: readyFile, isReady: { http.isListening && link.isBrokerReachable }, logger: logger)
            )
        }
        services.append(DrainWatchdog(logger: logger))
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        do {
            try await group.run()
        } catch {
            await gateway.shutdownEventLoops()
            throw error
        }
        await gateway.shutdownEventLoops()
        logger.info("stopped")
    }

    /// The certificate and key of --tls-cert and --tls-key, loaded now so that a bad file stops the start.
    private static func timeAmount(seconds: Double) -> TimeAmount {
        .nanoseconds(Int64((seconds * 1e9).rounded()))
    }

    /// A default of the server configuration in whole seconds, as the options take it.
    private static func seconds(_ amount: TimeAmount) -> Int { Int(amount.nanoseconds / 1_000_000_000) }

    /// A default of the server configuration in seconds, as the options take it.
    private static func fractionalSeconds(_ amount: TimeAmount) -> Double { Double(amount.nanoseconds) / 1e9 }
}
