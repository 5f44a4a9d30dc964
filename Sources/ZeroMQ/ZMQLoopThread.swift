import Foundation
import Synchronization

/// The thread a ZeroMQ loop runs on (a libzmq socket belongs to the thread that made it): started once
/// its body says the sockets are ready (or with the error that kept them from it), asked to stop by a
/// flag the body reads each pass, and awaited until the body has closed them. The broker's loop and the
/// gateway's broker link both run on one.
public final class ZMQLoopThread: Sendable {
    private let name: String
    private let stopRequested = Atomic<Bool>(false)
    private let hasStopped = Atomic<Bool>(false)
    private let waiting = Mutex<[CheckedContinuation<Void, Never>]>([])

    /// A loop thread named `name` (as `ps -T` and profilers show it); not started yet.
    public init(name: String) {
        self.name = name
    }

    /// Whether ``requestStop()`` was called: the body ends its loop and closes its sockets.
    public var isStopRequested: Bool { stopRequested.load(ordering: .relaxed) }

    /// Runs `body` on a new thread and returns once it calls ``Start/ready()``, or throws what it passes
    /// to ``Start/failed(_:)`` (a body that returns without either fails the start).
    public func start(_ body: @escaping @Sendable (Start) -> Void) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            let start = Start(continuation)
            let thread = Thread { [self] in
                body(start)
                start.failed(ZMQError.socketClosed(operation: "start of \(name)"))
                finish()
            }
            thread.name = name
            thread.start()
        }
    }

    /// Asks the body to stop (it notices within one poll interval, or at once if it is woken).
    public func requestStop() {
        stopRequested.store(true, ordering: .relaxed)
    }

    /// Returns once the body has returned (at once if it has, or never started).
    public func waitUntilStopped() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = waiting.withLock { list -> Bool in
                if hasStopped.load(ordering: .acquiring) { return true }
                list.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    private func finish() {
        let continuations = waiting.withLock { list -> [CheckedContinuation<Void, Never>] in
            hasStopped.store(true, ordering: .releasing)
            defer { list.removeAll() }
            return list
        }
        for continuation in continuations { continuation.resume() }
    }

    /// How the body reports its start: once, the first report wins.
    public final class Start: Sendable {
        private let continuation: Mutex<CheckedContinuation<Void, Error>?>

        init(_ continuation: CheckedContinuation<Void, Error>) {
            self.continuation = Mutex(continuation)
        }

        /// The sockets are open: ``ZMQLoopThread/start(_:)`` returns.
        public func ready() {
            continuation.withLock { $0.take() }?.resume()
        }

        /// The sockets could not be opened: ``ZMQLoopThread/start(_:)`` throws `error`.
        public func failed(_ error: any Error) {
            continuation.withLock { $0.take() }?.resume(throwing: error)
        }
    }
}
