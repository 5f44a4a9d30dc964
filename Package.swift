// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "swift-zmq-chat",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "RoomBroker", targets: ["RoomBroker"]),
        .executable(name: "Gateway", targets: ["Gateway"]),
        .executable(name: "ChatBench", targets: ["ChatBench"]),
        .executable(name: "ChatAttack", targets: ["ChatAttack"]),
        .executable(name: "BrokerBench", targets: ["BrokerBench"]),
        .executable(name: "ChatKeys", targets: ["ChatKeys"]),
    ],
    dependencies: [
        // Below 2.101.0 one malformed frame length crashes WSParser.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),  // Deque
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // The gateway's --tls-cert / --tls-key.
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // libzmq from Debian's libzmq3-dev.
        .systemLibrary(
            name: "CZMQ",
            pkgConfig: "libzmq",
            providers: [.apt(["libzmq3-dev"])]
        ),
        // A small, typed Swift layer over libzmq.
        .target(name: "ZeroMQ", dependencies: ["CZMQ"]),
        // The gateway <-> broker wire format.
        .target(name: "ChatWire"),
        // Engine.IO v4 / Socket.IO v5 packet codec and JSON text helpers.
        .target(name: "SocketIO"),
        // HTTP API request decoding and client addresses: plain values, no NIO (unit-tested and fuzzed alone).
        .target(name: "ChatAPI", dependencies: ["ChatWire", "SocketIO"]),
        // Raising RLIMIT_NOFILE at the start of both executables.
        .target(name: "ProcessLimits"),
        // One-line terminal logging shared by both executables.
        .target(
            name: "ChatLogging",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),  // LogDropMetrics
            ]
        ),
        // Every option of both executables also settable by a CHAT_* environment variable; --log-format.
        .target(
            name: "ChatCommandLine",
            dependencies: [
                "ChatLogging", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Rooms, passwords, membership and ordering: plain types, no sockets.
        .target(
            name: "RoomBrokerCore",
            dependencies: [
                "ChatWire", "SocketIO", "ChatLogging",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),  // BrokerMetrics
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        // Operators' small HTTP listeners: the broker's --metrics, the gateway's --admin.
        .target(
            name: "OperatorHTTP",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // The broker's journal and snapshots on disk (--data-dir).
        .target(
            name: "BrokerStorage",
            dependencies: [
                "RoomBrokerCore", "ChatWire",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        .executableTarget(
            name: "RoomBroker",
            dependencies: [
                "RoomBrokerCore", "BrokerStorage", "OperatorHTTP", "ZeroMQ", "ChatWire", "ChatLogging", "ProcessLimits",
                "ChatCommandLine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),  // SIGHUP: reload keys
                // --metrics: Prometheus text on a small HTTP listener of its own.
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // Socket.IO sessions, HTTP API and broker link of a gateway.
        .target(
            name: "GatewayCore",
            dependencies: [
                "ChatWire", "SocketIO", "ChatAPI", "ZeroMQ", "ChatLogging", "OperatorHTTP",
                .product(name: "Crypto", package: "swift-crypto"),  // the Socket.IO sid derived from a recovery pid
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .executableTarget(
            name: "Gateway",
            dependencies: [
                "GatewayCore", "ChatAPI", "ChatLogging", "ProcessLimits", "ChatCommandLine", "ZeroMQ",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),  // SIGHUP: TLS reload
            ]
        ),
        // Blocking HTTP/WebSocket/Socket.IO test clients shared by test targets.
        .target(
            name: "ChatTestSupport",
            dependencies: [
                "SocketIO",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            path: "Tests/ChatTestSupport"
        ),
        // Test doubles of the gateway's collaborators: a broker client answered by hand.
        .target(
            name: "GatewayTestSupport",
            dependencies: ["GatewayCore", "ChatWire"],
            path: "Tests/GatewayTestSupport"
        ),
        // Load benchmark client: many Socket.IO clients, latency and loss (scripts/bench).
        // Broker-only benchmark: drives a RoomBroker over ZeroMQ as gateways would (scripts/bench broker), and
        // times the state snapshot in process (scripts/bench snapshot).
        .executableTarget(
            name: "BrokerBench",
            dependencies: [
                "ZeroMQ", "ChatWire", "ProcessLimits", "RoomBrokerCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // WebSocket framing, upgrade and source addresses shared by the load tools (ChatBench, ChatAttack).
        .target(
            name: "ChatLoad",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "ChatBench",
            dependencies: [
                "SocketIO", "ProcessLimits", "ChatLoad",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Hostile load while a benchmark runs: ghost members, join cycles on full histories, packet floods
        // and room creations from many loopback addresses, at given rates (scripts/bench --hostile).
        .executableTarget(
            name: "ChatAttack",
            dependencies: [
                "ChatLoad", "ChatWire", "SocketIO", "ProcessLimits",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Writes CURVE key pairs for the ZeroMQ links (scripts/keys).
        .executableTarget(
            name: "ChatKeys",
            dependencies: ["ZeroMQ", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ"]),
        .testTarget(
            name: "ChatLoggingTests",
            dependencies: ["ChatLogging", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "ChatBenchTests",
            dependencies: ["ChatBench", "ChatLoad", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .testTarget(name: "ChatAttackTests", dependencies: ["ChatAttack", "ChatWire"]),
        .testTarget(name: "ChatWireTests", dependencies: ["ChatWire"]),
        .testTarget(
            name: "ChatCommandLineTests",
            dependencies: [
                "ChatCommandLine", "ChatLogging", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "SocketIOTests", dependencies: ["SocketIO"]),
        .testTarget(name: "ChatAPITests", dependencies: ["ChatAPI", "ChatWire", "SocketIO"]),
        .testTarget(name: "ProcessLimitsTests", dependencies: ["ProcessLimits"]),
        .testTarget(
            name: "GatewayCoreTests",
            dependencies: [
                "GatewayCore", "ChatAPI", "ChatWire", "SocketIO", "ChatTestSupport", "GatewayTestSupport",
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "RoomBrokerCoreTests",
            dependencies: [
                "RoomBrokerCore", "ChatWire", "SocketIO", .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            exclude: ["Fixtures"]  // read from the source tree (SnapshotCodingTests+Fixture.swift)
        ),
        .testTarget(
            name: "BrokerStorageTests",
            dependencies: ["BrokerStorage", "RoomBrokerCore", "ChatWire"]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["ZeroMQ", "ChatWire", "SocketIO", "ChatTestSupport", "RoomBroker", "Gateway"]
        ),
    ]
)
