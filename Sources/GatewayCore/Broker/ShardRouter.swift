import ChatWire
import Logging
import SocketIO
import Synchronization

/// The gateway's side of rooms sharded over several brokers (or broker pairs): one ``BrokerLink`` per
/// shard, each with its own failover, resend and fencing, and one place that decides where a command
/// goes (docs/PROTOCOL.md, "Shards"):
///
/// - a command about a room goes to the room's shard (``Shard/index(ofRoom:count:key:)``, with the cluster's ``ShardKey``), and so do its
///   follow and unfollow: a room's broadcasts come only from the broker that owns it;
/// - a `create` without a name goes to the shard of its idempotency key when it has one (a retry, from
///   any gateway, lands where the first try did), else to the next shard in turn that answers;
/// - `listRooms` asks every shard and merges their pages; `disconnect` goes to every shard;
/// - `resume` (connection-state recovery) needs a single shard: its offsets number one broker's events.
///
/// It is reachable (`/healthz`, readiness) only while every shard's broker answers. With one shard
/// every command passes straight to the one link.
public final class ShardRouter: BrokerClient {
    /// A sharding the gateway cannot work with.
    public enum Invalid: Error, Equatable, CustomStringConvertible {
        /// `brokers` is neither `shards` (one broker per shard) nor twice that (a pair per shard).
        case brokerCount(brokers: Int, shards: Int)
        /// Connection-state recovery with several shards: a Socket.IO offset numbers one broker's events.
        case connectionStateRecovery(shards: Int)

        public var description: String {
            switch self {
            case .brokerCount(let brokers, let shards):
                return
                    "with --shards \(shards) give \(shards) brokers (one per shard) or \(2 * shards) (a pair per shard) in "
                    + "--broker-commands and --broker-broadcasts, shard 0's first; got \(brokers)"
            case .connectionStateRecovery(let shards):
                return
                    "--connection-state-recovery works with one shard only (a client's offset numbers the events of one "
                    + "broker, and its session lives in one), not with --shards \(shards): drop one of the two"
            }
        }
    }

    /// Where one command goes.
    enum Route: Equatable {
        /// To one shard's link.
        case shard(Int)
        /// To every shard's link; the answers are combined (``listRooms`` pages merged).
        case everyShard
        /// Nowhere: answered at once with this error.
        case refused(ChatError)
    }

    /// One link per shard, in shard order.
    public let links: [any BrokerClient]
    /// The cluster's placement key (`--shard-key`); nil: unkeyed FNV-1a (one shard, tests).
    public let placementKey: ShardKey?
    /// Counts the creates without a name, to take the shards in turn.
    private let nextCreate = Atomic<UInt>(0)
    /// How many links ``start()`` started (its thread runs, or ran and ended): ``stop()`` waits for those.
    private let startedLinks = Atomic<Int>(0)

    /// A router over `links`, the link of shard `i` at index `i`, placing rooms with `placementKey`.
    public init(links: [any BrokerClient], placementKey: ShardKey? = nil) {
        self.placementKey = placementKey
        precondition(!links.isEmpty, "a router needs at least one shard")
        self.links = links
    }

    /// One new ``BrokerLink`` per configuration, in shard order (not started), each handing broadcasts
    /// to `sink` and status answers to `statusHandler(shard)`; with several, each link's log lines
    /// carry `shard=I/N`.
    public static func makeLinks(
        shards: [BrokerLinkConfiguration],
        logger: Logger,
        sink: any BroadcastSink,
        statusHandler: (_ shard: Int) -> BrokerLink.StatusHandler? = { _ in nil }
    ) throws -> [BrokerLink] {
        try shards.enumerated().map { index, configuration in
            var shardLogger = logger
            if shards.count > 1 { shardLogger[metadataKey: "shard"] = "\(index)/\(shards.count)" }
            return try BrokerLink(
                configuration: configuration,
                logger: shardLogger,
                sink: sink,
                statusHandler: statusHandler(index)
            )
        }
    }

    /// Splits `brokers` (as given to the gateway: shard 0's broker or pair first, then shard 1's, ...)
    /// into `shards` lists of one broker or one pair each.
    public static func split<Broker>(_ brokers: [Broker], shards: Int) throws(Invalid) -> [[Broker]] {
        guard shards >= 1, brokers.count == shards || brokers.count == 2 * shards else {
            throw .brokerCount(brokers: brokers.count, shards: shards)
        }
        let perShard = brokers.count / shards
        return (0..<shards).map { Array(brokers[($0 * perShard)..<(($0 + 1) * perShard)]) }
    }

    // MARK: BrokerClient

    public func send(_ body: WireCommand.Body, connectionID: UInt64, client: String, completion: BrokerLink.Completion?)
    {
        guard links.count > 1 else {
            links[0].send(body, connectionID: connectionID, client: client, completion: completion)
            return
        }
        switch route(body) {
        case .shard(let index):
            links[index].send(body, connectionID: connectionID, client: client, completion: completion)
        case .refused(let error):
            completion?(.failure(error))
        case .everyShard:
            guard let completion else {
                for link in links { link.send(body, connectionID: connectionID, client: client, completion: nil) }
                return
            }
            let combine: Answers.Combine
            if case .listRooms(_, let limit) = body {
                combine = { results in Self.mergeRoomLists(results, limit: limit) }
            } else {
                combine = Self.firstFailure
            }
            let answers = Answers(count: links.count, combine: combine, completion: completion)
            for (index, link) in links.enumerated() {
                let recorded: BrokerLink.Completion = { result in answers.record(result, from: index) }
                link.send(body, connectionID: connectionID, client: client, completion: recorded)
            }
        }
    }

    public func follow(_ room: String) {
        links[Shard.index(ofRoom: room, count: links.count, key: placementKey)].follow(room)
    }

    public func unfollow(_ room: String) {
        links[Shard.index(ofRoom: room, count: links.count, key: placementKey)].unfollow(room)
    }

    /// True only while every shard's broker answers: a gateway that cannot reach one shard cannot
    /// serve that shard's rooms.
    public var isBrokerReachable: Bool {
        links.allSatisfy(\.isBrokerReachable)
    }

    /// Starts every link in shard order; if one fails, stops those started and throws.
    public func start() async throws {
        for (index, link) in links.enumerated() {
            startedLinks.store(index + 1, ordering: .relaxed)
            do {
                try await link.start()
            } catch {
                await stop()
                throw error
            }
        }
    }

    /// Stops every started link at once (each sends its members' disconnects, then closes); a link
    /// never started has no thread to wait for.
    public func stop() async {
        let started = links.prefix(startedLinks.load(ordering: .relaxed))
        await withTaskGroup(of: Void.self) { group in
            for link in started { group.addTask { await link.stop() } }
        }
    }

    /// Asks every broker of every shard for its status.
    public func requestStatus() {
        for link in links { link.requestStatus() }
    }

    // MARK: Routing

    /// Where `body` goes among the shards.
    func route(_ body: WireCommand.Body) -> Route {
        let count = links.count
        if let room = body.room { return .shard(Shard.index(ofRoom: room, count: count, key: placementKey)) }
        switch body {
        case .create(_, _, let key):
            return .shard(
                key.isEmpty ? nextShardForNewRoom() : Shard.index(ofRoom: key, count: count, key: placementKey)
            )
        case .listRooms, .disconnect, .hello, .heartbeat, .status:  // status: the links ask their brokers themselves
            return .everyShard
        case .resume:
            return count == 1
                ? .shard(0)
                : .refused(
                    ChatError(
                        .replayUnavailable,
                        "connection-state recovery needs a single shard; join your rooms again"
                    )
                )
        case .join, .leave, .message, .post, .replay, .history:
            return .shard(0)  // Unreachable: these name their room.
        }
    }

    /// The next in turn of the shards whose brokers answer (of all shards when none does).
    private func nextShardForNewRoom() -> Int {
        let turn = nextCreate.wrappingAdd(1, ordering: .relaxed).oldValue
        let answering = links.indices.filter { links[$0].isBrokerReachable }
        let candidates = answering.isEmpty ? Array(links.indices) : answering
        return candidates[Int(turn % UInt(candidates.count))]
    }

    /// The first failure among `results`, else the first success.
    @Sendable
    static func firstFailure(_ results: [Result<WireReply.Success, ChatError>]) -> Result<WireReply.Success, ChatError>
    {
        for result in results {
            if case .failure = result { return result }
        }
        return results[0]
    }

    /// One page of the room list from every shard's page: the first `limit` rooms of their union
    /// (``RoomListPage/merging(_:limit:)``); any shard's failure fails the whole.
    static func mergeRoomLists(
        _ results: [Result<WireReply.Success, ChatError>],
        limit: UInt32
    ) -> Result<WireReply.Success, ChatError> {
        var pages: [RoomListPage] = []
        for result in results {
            switch result {
            case .failure(let error):
                return .failure(error)
            case .success(let success):
                do {
                    pages.append(try RoomListPage(json: success.json))
                } catch {
                    return .failure(
                        ChatError(
                            .internalError,
                            "a broker answered the room list with JSON of another shape: \(error)"
                        )
                    )
                }
            }
        }
        let size = limit == 0 ? RoomListPage.defaultLimit : Int(limit)
        return .success(WireReply.Success(json: RoomListPage.merging(pages, limit: size).json))
    }

    /// Collects the answers of every shard to one command and completes it once, with `combine`'s
    /// result, when the last one arrives (on that link's thread).
    private final class Answers: Sendable {
        typealias Combine = @Sendable ([Result<WireReply.Success, ChatError>]) -> Result<WireReply.Success, ChatError>

        private let results: Mutex<[Result<WireReply.Success, ChatError>?]>
        private let combine: Combine
        private let completion: BrokerLink.Completion

        init(count: Int, combine: @escaping Combine, completion: @escaping BrokerLink.Completion) {
            results = Mutex(Array(repeating: nil, count: count))
            self.combine = combine
            self.completion = completion
        }

        func record(_ result: Result<WireReply.Success, ChatError>, from index: Int) {
            let all = results.withLock { results -> [Result<WireReply.Success, ChatError>]? in
                results[index] = result
                let done = results.compactMap { $0 }
                return done.count == results.count ? done : nil
            }
            if let all { completion(combine(all)) }
        }
    }
}
