import ChatWire
import Foundation
import Synchronization

/// Gathers what `/status` and `/status.json` show (a ``GatewayStatusReport``) from the parts of a
/// gateway, given as closures (``Sources``), and keeps it for ``refreshMilliseconds``: however often
/// the page is asked for, each broker is asked at most once per second and each event loop hopped to
/// at most once per second.
///
/// A refresh asks every broker for its status (the `askBrokers` given to ``report(askingBrokers:)``; their
/// answers come back through
/// ``brokerAnswered(_:_:)`` on the link's thread), counts the members of each room on every event loop,
/// and waits up to ``answerWaitMilliseconds`` for the brokers before building the report from what they
/// last said.
public final class GatewayStatus: Sendable {
    /// What the status is gathered from.
    public struct Sources: Sendable {
        /// This gateway's id.
        public var gatewayID: String
        /// The command endpoints of the brokers, in the link's order.
        public var brokerEndpoints: [String]
        /// WebSocket connections open now.
        public var connections: @Sendable () -> Int
        /// Members of each room on this gateway.
        public var localRooms: @Sendable () async -> [String: Int]

        /// Sources; see the properties.
        public init(
            gatewayID: String,
            brokerEndpoints: [String],
            connections: @escaping @Sendable () -> Int,
            localRooms: @escaping @Sendable () async -> [String: Int]
        ) {
            self.gatewayID = gatewayID
            self.brokerEndpoints = brokerEndpoints
            self.connections = connections
            self.localRooms = localRooms
        }
    }

    /// How long a built report is served again, ms: the brokers are asked at most this often.
    public static let refreshMilliseconds: UInt64 = 1_000
    /// How long a refresh waits for the brokers' answers, ms.
    public static let answerWaitMilliseconds: UInt64 = 500
    /// Most rooms of this gateway listed (the busiest); the report counts them all.
    public static let maxRooms = 100

    private struct State: Sendable {
        var board: BrokerStatusBoard
        var cached: (builtAt: UInt64, report: GatewayStatusReport)?
        var refreshing: Task<GatewayStatusReport, Never>?
    }

    private let sources: Sources
    private let clock: @Sendable () -> UInt64
    private let startedAt: UInt64
    private let state: Mutex<State>

    /// A status over `sources`, reading time from `clock` (``MonotonicClock`` ms; tests pass their own).
    public init(sources: Sources, clock: @escaping @Sendable () -> UInt64 = { MonotonicClock.milliseconds() }) {
        self.sources = sources
        self.clock = clock
        self.startedAt = clock()
        self.state = Mutex(State(board: BrokerStatusBoard(brokers: sources.brokerEndpoints.count)))
    }

    /// Broker `broker`'s answer to a status request, or the failure to ask it (any thread).
    public func brokerAnswered(_ broker: Int, _ result: Result<WireReply.Success, ChatError>) {
        let report: BrokerStatusReport?
        switch result {
        case .success(let success): report = BrokerStatusReport(json: success.json)
        case .failure: report = nil
        }
        let now = clock()
        state.withLock { $0.board.record(report, from: broker, now: now) }
    }

    /// The report: the one built within the last ``refreshMilliseconds``, or a new one, for which
    /// `askBrokers` sends a `status` command to every broker (their answers come to
    /// ``brokerAnswered(_:_:)``; the links are made with it as their status handler).
    public func report(askingBrokers askBrokers: @escaping @Sendable () -> Void) async -> GatewayStatusReport {
        let now = clock()
        let (cached, refresh) = state.withLock { state -> (GatewayStatusReport?, Task<GatewayStatusReport, Never>?) in
            if let cached = state.cached, now >= cached.builtAt, now - cached.builtAt < Self.refreshMilliseconds {
                return (cached.report, nil)
            }
            if let refreshing = state.refreshing { return (nil, refreshing) }
            let task = Task { await self.refresh(askBrokers: askBrokers) }
            state.refreshing = task
            return (nil, task)
        }
        if let cached { return cached }
        return await refresh?.value ?? build(rooms: [:])
    }

    /// The report as `/status.json` serves it.
    public static func json(_ report: GatewayStatusReport) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? Array(encoder.encode(report))) ?? Array("{}".utf8)
    }

    private func refresh(askBrokers: @Sendable () -> Void) async -> GatewayStatusReport {
        let round = state.withLock { $0.board.startRound() }
        askBrokers()
        let rooms = await sources.localRooms()
        for _ in 0..<(Self.answerWaitMilliseconds / 20) where !state.withLock({ $0.board.isComplete(round) }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let report = build(rooms: rooms)
        let now = clock()
        state.withLock { state in
            state.cached = (now, report)
            state.refreshing = nil
        }
        return report
    }

    private func build(rooms: [String: Int]) -> GatewayStatusReport {
        let now = clock()
        let listed = rooms.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(Self.maxRooms)
        let local = GatewayStatusReport.Local(
            id: sources.gatewayID,
            connections: sources.connections(),
            uptimeSeconds: (now >= startedAt ? now - startedAt : 0) / 1000,
            roomCount: rooms.count,
            members: rooms.values.reduce(0, +),
            rooms: listed.map { GatewayStatusReport.RoomMembers(room: $0.key, members: $0.value) }
        )
        let (brokers, serving) = state.withLock { state in
            (state.board.brokers(endpoints: sources.brokerEndpoints, now: now), state.board.servingReport(now: now))
        }
        return GatewayStatusReport(
            gateway: local,
            brokers: brokers,
            gatewayCount: serving?.gatewayCount ?? 0,
            gateways: serving?.gateways ?? []
        )
    }
}
