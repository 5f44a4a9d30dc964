/// What a broker says of itself in the JSON of its reply to a `status` command (docs/PROTOCOL.md,
/// "Status"): its role and term, its rooms and members, the gateways it knows and the replication to
/// or from its peer. At most ``maxBytes`` of JSON; the gateway list is cut at ``maxGateways``.
public struct BrokerStatusReport: Codable, Equatable, Sendable {
    /// One gateway the broker knows (it said hello and has not fallen silent since).
    public struct Gateway: Codable, Equatable, Sendable {
        /// Its routing id (at most ``BrokerStatusReport/maxGatewayIDBytes`` bytes of it).
        public var id: String
        /// Members connected through it, over all rooms.
        public var members: Int
        /// Milliseconds since the broker last heard from it.
        public var silentMs: UInt64

        /// A gateway `id` with `members`, silent for `silentMs`.
        public init(id: String, members: Int, silentMs: UInt64) {
            self.id = id
            self.members = members
            self.silentMs = silentMs
        }
    }

    /// How much of one budget is used.
    public struct Budget: Codable, Equatable, Sendable {
        /// Which budget.
        public var name: BudgetName
        /// Its use now (bytes for ``BudgetName/storedBytes``, else entries).
        public var used: Int
        /// Its bound, or nil for one bounded per room or per key rather than in total.
        public var limit: Int?

        /// `used` of budget `name` bounded by `limit`.
        public init(_ name: BudgetName, used: Int, limit: Int? = nil) {
            self.name = name
            self.used = used
            self.limit = limit
        }
    }

    /// The replication between the brokers of a pair (absent for a broker alone).
    public struct Replication: Codable, Equatable, Sendable {
        /// Where it stands.
        public var state: ReplicationState
        /// On an active: inputs whose replies and broadcasts are held until the standby acknowledges them.
        public var heldOutputs: Int
        /// On an active: updates sent to the standby and not acknowledged yet.
        public var unacknowledged: UInt64
        /// On an active: ms since the standby's last ack; on a standby: since the last update arrived.
        /// Nil when none came yet.
        public var sinceLastMs: UInt64?
        /// Why this broker last became active (nil: it never did since it started).
        public var takeover: TakeoverKind?

        /// A replication `state` with its lag figures.
        public init(
            state: ReplicationState,
            heldOutputs: Int = 0,
            unacknowledged: UInt64 = 0,
            sinceLastMs: UInt64? = nil,
            takeover: TakeoverKind? = nil
        ) {
            self.state = state
            self.heldOutputs = heldOutputs
            self.unacknowledged = unacknowledged
            self.sinceLastMs = sinceLastMs
            self.takeover = takeover
        }
    }

    /// Most gateways listed (sorted by id); ``gatewayCount`` counts them all.
    public static let maxGateways = 64
    /// Most bytes of a gateway id listed (a longer one is cut and ends in "…").
    public static let maxGatewayIDBytes = 64
    /// Most bytes of the report's JSON; a gateway refuses a larger one unread.
    public static let maxBytes = 64 << 10

    /// How the broker serves.
    public var role: BrokerRole
    /// The pair's fencing term (1 for a broker alone).
    public var term: UInt64
    /// The id of the state it holds (the same on both brokers of a pair once the standby has it).
    public var instance: String
    /// Rooms held.
    public var rooms: Int
    /// Members over all rooms, disconnected ones kept for their session grace included.
    public var members: Int
    /// Members whose connection is up.
    public var connectedMembers: Int
    /// Gateways known.
    public var gatewayCount: Int
    /// The first ``maxGateways`` of them by id.
    public var gateways: [Gateway]
    /// The number of the last update applied (or sent, on an active) in a pair; 0 for a broker alone.
    public var updates: UInt64
    /// The replication to the standby (on an active) or from the active (on a standby); nil alone.
    public var replication: Replication?
    /// What the state kept for clients uses of each budget (nil from a broker of an earlier build).
    public var budgets: [Budget]?

    /// A report; see the properties.
    public init(
        role: BrokerRole,
        term: UInt64,
        instance: String,
        rooms: Int = 0,
        members: Int = 0,
        connectedMembers: Int = 0,
        gatewayCount: Int = 0,
        gateways: [Gateway] = [],
        updates: UInt64 = 0,
        replication: Replication? = nil,
        budgets: [Budget]? = nil
    ) {
        self.role = role
        self.term = term
        self.instance = instance
        self.rooms = rooms
        self.members = members
        self.connectedMembers = connectedMembers
        self.gatewayCount = gatewayCount
        self.gateways = gateways
        self.updates = updates
        self.replication = replication
        self.budgets = budgets
    }
}
