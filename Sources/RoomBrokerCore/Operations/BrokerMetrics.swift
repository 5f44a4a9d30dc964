import ChatWire
import CoreMetrics

/// What a broker counts for Prometheus (`RoomBroker --metrics`), through swift-metrics and the factory
/// it is given (docs/ARCHITECTURE.md, "Operations").
///
/// The counters are made once and found by the kind or status byte of a frame (a table of 256), never
/// by decoding: counting a command, a reply or a broadcast costs one atomic add and allocates nothing.
/// The gauges are set from a ``BrokerStatusReport`` by ``update(_:)``, a few times a second.
public final class BrokerMetrics: Sendable {
    /// Where a reply frame keeps its status byte: after version, kind, request id and connection id.
    static let replyStatusOffset = 14

    private let commands: [Counter]
    private let replies: [Counter]
    private let broadcasts: [Counter]
    private let roles: [(BrokerRole, Gauge)]
    private let replicationStates: [(ReplicationState, Gauge)]
    private let rooms: Gauge
    private let members: Gauge
    private let connectedMembers: Gauge
    private let gateways: Gauge
    private let term: Gauge
    private let heldOutputs: Gauge
    private let unacknowledged: Gauge
    private let sinceReplication: Gauge
    /// `chat_broker_budget_used{budget}` and `chat_broker_budget_limit{budget}` (NaN: bounded per room
    /// or per key, not in total).
    private let budgets: [BudgetName: (used: Gauge, limit: Gauge)]
    /// `chat_broker_shard{index,count}` = 1: which shard of the rooms this broker owns (`--shard I/N`).
    private let shard: Gauge
    /// `chat_broker_storage_refusing` = 1 while the journal cannot be written (new rooms and messages
    /// are refused with `storage_full`).
    private let storageRefusingGauge: Gauge
    /// `chat_broker_messages_refused_total{reason}`: messages dropped unread (``RefusedMessageReason``).
    private let refusedMessages: [RefusedMessageReason: Counter]

    /// Metrics made by `factory` (a `PrometheusMetricsFactory` in the broker), for a broker of `shard`.
    public init(factory: any MetricsFactory, shard: Shard = .whole) {
        func counters(_ label: String, _ dimension: String, _ name: (UInt8) -> String) -> [Counter] {
            var made: [String: Counter] = [:]
            return (0...255).map { (byte: Int) in
                let value = name(UInt8(byte))
                if let counter = made[value] { return counter }
                let counter = Counter(label: label, dimensions: [(dimension, value)], factory: factory)
                made[value] = counter
                return counter
            }
        }
        commands = counters("chat_broker_commands_total", "kind") {
            CommandKind(rawValue: $0).map { Self.label($0) } ?? "invalid"
        }
        replies = counters("chat_broker_replies_total", "code") { byte in
            byte == 0 ? "ok" : ChatErrorCode(rawValue: byte).map { Self.label($0) } ?? "unknown"
        }
        broadcasts = counters("chat_broker_broadcasts_total", "kind") {
            BroadcastKind(rawValue: $0).map { Self.label($0) } ?? "unknown"
        }
        roles = BrokerRole.allCases.map {
            ($0, Gauge(label: "chat_broker_role", dimensions: [("role", $0.rawValue)], factory: factory))
        }
        replicationStates = ReplicationState.allCases.map {
            ($0, Gauge(label: "chat_broker_replication", dimensions: [("state", $0.rawValue)], factory: factory))
        }
        rooms = Gauge(label: "chat_broker_rooms", factory: factory)
        members = Gauge(label: "chat_broker_members", factory: factory)
        connectedMembers = Gauge(label: "chat_broker_connected_members", factory: factory)
        gateways = Gauge(label: "chat_broker_gateways", factory: factory)
        term = Gauge(label: "chat_broker_term", factory: factory)
        heldOutputs = Gauge(label: "chat_broker_replication_held_outputs", factory: factory)
        unacknowledged = Gauge(label: "chat_broker_replication_unacknowledged_updates", factory: factory)
        sinceReplication = Gauge(label: "chat_broker_replication_since_last_milliseconds", factory: factory)
        storageRefusingGauge = Gauge(label: "chat_broker_storage_refusing", factory: factory)
        var budgets: [BudgetName: (used: Gauge, limit: Gauge)] = [:]
        for name in BudgetName.allCases {
            let dimensions = [("budget", name.rawValue)]
            budgets[name] = (
                Gauge(label: "chat_broker_budget_used", dimensions: dimensions, factory: factory),
                Gauge(label: "chat_broker_budget_limit", dimensions: dimensions, factory: factory)
            )
        }
        self.budgets = budgets
        self.shard = Gauge(
            label: "chat_broker_shard",
            dimensions: [("index", "\(shard.index)"), ("count", "\(shard.count)")],
            factory: factory
        )
        self.shard.record(1)
        refusedMessages = Dictionary(
            uniqueKeysWithValues: RefusedMessageReason.allCases.map {
                (
                    $0,
                    Counter(
                        label: "chat_broker_messages_refused_total",
                        dimensions: [("reason", $0.rawValue)],
                        factory: factory
                    )
                )
            }
        )
    }

    /// Counts `count` messages dropped unread for `reason`.
    public func refused(_ reason: RefusedMessageReason, count: Int = 1) {
        refusedMessages[reason]?.increment(by: Int64(count))
    }

    /// Counts a command frame by its kind byte (`invalid` when it has none or an unknown one).
    public func command(_ frame: [UInt8]) {
        commands[frame.count > 1 ? Int(frame[1]) : 0].increment()
    }

    /// Counts a reply frame by its status byte (`ok`, or the error code).
    public func reply(_ frame: [UInt8]) {
        guard frame.count > Self.replyStatusOffset else { return }
        replies[Int(frame[Self.replyStatusOffset])].increment()
    }

    /// Counts a published broadcast (topic, header, payload) by the kind byte of its header.
    public func published(_ frames: [[UInt8]]) {
        guard frames.count > 1, frames[1].count > 1 else { return }
        broadcasts[Int(frames[1][1])].increment()
    }

    /// Whether the journal refuses writes now.
    public func storageRefusing(_ refusing: Bool) {
        storageRefusingGauge.record(refusing ? 1 : 0)
    }

    /// Sets the gauges from what the broker says of itself.
    public func update(_ report: BrokerStatusReport) {
        for (role, gauge) in roles { gauge.record(role == report.role ? 1 : 0) }
        for (state, gauge) in replicationStates { gauge.record(state == report.replication?.state ? 1 : 0) }
        rooms.record(report.rooms)
        members.record(report.members)
        connectedMembers.record(report.connectedMembers)
        gateways.record(report.gatewayCount)
        term.record(Int64(clamping: report.term))
        heldOutputs.record(report.replication?.heldOutputs ?? 0)
        unacknowledged.record(Int64(clamping: report.replication?.unacknowledged ?? 0))
        // NaN: no ack (or update) came yet, or there is no replication.
        sinceReplication.record(report.replication?.sinceLastMs.map { Double($0) } ?? .nan)
        for budget in report.budgets ?? [] {
            guard let gauges = budgets[budget.name] else { continue }
            gauges.used.record(budget.used)
            gauges.limit.record(budget.limit.map { Double($0) } ?? .nan)
        }
    }

    /// The label of a command kind: its name in snake_case.
    static func label(_ kind: CommandKind) -> String {
        switch kind {
        case .invalid: return "invalid"
        case .hello: return "hello"
        case .heartbeat: return "heartbeat"
        case .create: return "create"
        case .join: return "join"
        case .leave: return "leave"
        case .message: return "message"
        case .post: return "post"
        case .listRooms: return "list_rooms"
        case .history: return "history"
        case .disconnect: return "disconnect"
        case .replay: return "replay"
        case .resume: return "resume"
        case .status: return "status"
        }
    }

    /// The label of an error code: the clients' code, but the two the broker tells only gateways apart.
    static func label(_ code: ChatErrorCode) -> String {
        switch code {
        case .unknownGateway: return "unknown_gateway"
        case .notActive: return "not_active"
        default: return code.code
        }
    }

    /// The label of a broadcast kind.
    static func label(_ kind: BroadcastKind) -> String {
        switch kind {
        case .message: return "message"
        case .joined: return "joined"
        case .left: return "left"
        case .head: return "head"
        case .takenOver: return "taken_over"
        }
    }
}
