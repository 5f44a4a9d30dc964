import ChatWire

/// What a gateway's read-only status page shows (`/status` as HTML, `/status.json` as this, encoded):
/// this gateway, the brokers it knows and the gateways the active broker knows (docs/PROTOCOL.md,
/// "Status page"). Every list is bounded.
public struct GatewayStatusReport: Codable, Equatable, Sendable {
    /// This gateway.
    public struct Local: Codable, Equatable, Sendable {
        /// Its id towards the broker.
        public var id: String
        /// WebSocket connections open.
        public var connections: Int
        /// Seconds since it started.
        public var uptimeSeconds: UInt64
        /// Rooms with members here.
        public var roomCount: Int
        /// Memberships here, over all rooms.
        public var members: Int
        /// The rooms with the most members here (at most ``GatewayStatus/maxRooms``), busiest first.
        public var rooms: [RoomMembers]

        /// A gateway's own figures.
        public init(
            id: String,
            connections: Int,
            uptimeSeconds: UInt64,
            roomCount: Int,
            members: Int,
            rooms: [RoomMembers]
        ) {
            self.id = id
            self.connections = connections
            self.uptimeSeconds = uptimeSeconds
            self.roomCount = roomCount
            self.members = members
            self.rooms = rooms
        }
    }

    /// A room and its members on this gateway.
    public struct RoomMembers: Codable, Equatable, Sendable {
        /// The room.
        public var room: String
        /// Its members connected here.
        public var members: Int

        /// `members` of `room`.
        public init(room: String, members: Int) {
            self.room = room
            self.members = members
        }
    }

    /// One broker the gateway was given, as its last answer to `status` describes it.
    public struct Broker: Codable, Equatable, Sendable {
        /// How it serves, or that it does not answer.
        public enum State: String, Codable, Equatable, Sendable {
            /// A broker alone (no pair): it serves.
            case alone
            /// The active broker of its pair.
            case active
            /// The standby of its pair.
            case standby
            /// A broker of a pair that has not heard its peer yet.
            case starting
            /// No answer for ``BrokerStatusBoard/staleAfterMilliseconds``, or it cannot be reached at all.
            case unreachable

            /// The state of a broker answering with `role`.
            public init(_ role: BrokerRole) {
                switch role {
                case .alone: self = .alone
                case .active: self = .active
                case .standby: self = .standby
                case .starting: self = .starting
                }
            }
        }

        /// Its command endpoint, as the gateway was given it.
        public var endpoint: String
        /// How it serves.
        public var state: State
        /// Its last answer's fencing term (nil: it never answered).
        public var term: UInt64?
        /// Its last answer's state id.
        public var instance: String?
        /// Rooms it holds.
        public var rooms: Int?
        /// Members over all its rooms.
        public var members: Int?
        /// The replication to its standby or from its active.
        public var replication: BrokerStatusReport.Replication?
        /// Milliseconds since its last answer (nil: never).
        public var lastHeardMs: UInt64?
        /// What its state uses of each budget (nil: not said).
        public var budgets: [BrokerStatusReport.Budget]?

        /// A broker at `endpoint` in `state`, with what its last answer (`report`, if any) said.
        public init(endpoint: String, state: State, report: BrokerStatusReport?, lastHeardMs: UInt64?) {
            self.endpoint = endpoint
            self.state = state
            self.term = report?.term
            self.instance = report?.instance
            self.rooms = report?.rooms
            self.members = report?.members
            self.replication = report?.replication
            self.lastHeardMs = lastHeardMs
            self.budgets = report?.budgets
        }
    }

    /// This gateway.
    public var gateway: Local
    /// The brokers it was given, in order.
    public var brokers: [Broker]
    /// How many gateways the active broker knows (0 when no active answered).
    public var gatewayCount: Int
    /// The first of them by id (at most ``ChatWire/BrokerStatusReport/maxGateways``).
    public var gateways: [BrokerStatusReport.Gateway]

    /// A report; see the properties.
    public init(gateway: Local, brokers: [Broker], gatewayCount: Int, gateways: [BrokerStatusReport.Gateway]) {
        self.gateway = gateway
        self.brokers = brokers
        self.gatewayCount = gatewayCount
        self.gateways = gateways
    }
}
