import ChatWire
import GatewayCore
import Synchronization

/// A ``BrokerClient`` for tests: it records every call in order, answers commands with `answer` or
/// keeps them waiting until the test answers them by hand, and hands broadcasts to its sink when the
/// test says so. Completions run on the caller's thread, as the link's thread would run them.
public final class FakeBrokerClient: BrokerClient {
    /// One call the client received.
    public enum Call: Equatable, Sendable {
        case follow(String)
        case unfollow(String)
        case send(WireCommand.Body)
    }

    /// The outcome of a command at once, or nil to keep it waiting for ``answer(_:with:)``.
    public typealias Answer = @Sendable (WireCommand.Body) -> Result<WireReply.Success, ChatError>?

    private struct Waiting {
        var body: WireCommand.Body
        var completion: BrokerLink.Completion?
    }

    private struct State {
        var calls: [Call] = []
        var waiting: [Waiting] = []
        var started = false
        var stopped = false
    }

    private let state = Mutex(State())
    private let answerAtOnce: Answer
    /// Where ``broadcast(_:)`` hands events (as a link hands them to the fan-out it was made with).
    private let sink: (any BroadcastSink)?
    /// What ``isBrokerReachable`` says.
    public let reachable: Atomic<Bool>

    /// A client that answers with `answer` (by default nothing: every command waits) and hands
    /// broadcasts to `sink`.
    public init(reachable: Bool = true, sink: (any BroadcastSink)? = nil, answer: @escaping Answer = { _ in nil }) {
        self.reachable = Atomic(reachable)
        self.sink = sink
        answerAtOnce = answer
    }

    /// Every call so far, in order.
    public var calls: [Call] { state.withLock { $0.calls } }
    /// The commands sent so far, in order.
    public var sent: [WireCommand.Body] {
        calls.compactMap { call in
            guard case .send(let body) = call else { return nil }
            return body
        }
    }
    /// The rooms followed so far, in order (one entry per follow).
    public var follows: [String] {
        calls.compactMap { call in
            guard case .follow(let room) = call else { return nil }
            return room
        }
    }
    /// The rooms unfollowed so far, in order (one entry per unfollow).
    public var unfollows: [String] {
        calls.compactMap { call in
            guard case .unfollow(let room) = call else { return nil }
            return room
        }
    }
    /// The commands waiting for an answer, oldest first.
    public var waiting: [WireCommand.Body] { state.withLock { $0.waiting.map(\.body) } }
    /// Whether ``start()`` and ``stop()`` were called.
    public var isStarted: Bool { state.withLock { $0.started } }
    public var isStopped: Bool { state.withLock { $0.stopped } }

    /// Answers the oldest waiting command equal to `body` with `result`; false if none waits.
    @discardableResult
    public func answer(_ body: WireCommand.Body, with result: Result<WireReply.Success, ChatError>) -> Bool {
        let waiting = state.withLock { state -> Waiting? in
            guard let index = state.waiting.firstIndex(where: { $0.body == body }) else { return nil }
            return state.waiting.remove(at: index)
        }
        guard let waiting else { return false }
        waiting.completion?(result)
        return true
    }

    /// Hands `batch` to the sink, as the link does with the broadcasts it receives in order.
    public func broadcast(_ batch: [RoomBroadcastFrame]) {
        sink?.deliver(batch)
    }

    /// Tells the sink to disconnect the members of `room`, as the link does when the room's events are lost.
    public func disconnectMembers(of room: String, reason: RoomDisconnectReason) {
        sink?.disconnectMembers(of: room, reason: reason)
    }

    // MARK: BrokerClient

    public func send(_ body: WireCommand.Body, connectionID: UInt64, client: String, completion: BrokerLink.Completion?)
    {
        let result = answerAtOnce(body)
        state.withLock { state in
            state.calls.append(.send(body))
            if result == nil { state.waiting.append(Waiting(body: body, completion: completion)) }
        }
        if let result { completion?(result) }
    }

    public func follow(_ room: String) { state.withLock { $0.calls.append(.follow(room)) } }
    public func unfollow(_ room: String) { state.withLock { $0.calls.append(.unfollow(room)) } }
    public var isBrokerReachable: Bool { reachable.load(ordering: .relaxed) }
    public func start() async throws { state.withLock { $0.started = true } }
    public func stop() async { state.withLock { $0.stopped = true } }
    /// Status requests are not modelled: nobody answers.
    public func requestStatus() {}
}
