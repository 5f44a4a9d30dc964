import Dispatch
import RoomBrokerCore
import Synchronization

/// Runs ``SnapshotWork`` (encoding or decoding a whole state) on a background queue, so the broker's
/// loop goes on answering gateways and heartbeats; the loop collects the outcomes each pass.
final class SnapshotWorker: Sendable {
    private let queue = DispatchQueue(label: "broker-snapshot", qos: .utility)
    private let finished = Mutex<[SnapshotWork.Outcome]>([])

    /// Starts `work`; its outcome is returned by a later ``takeFinished()``.
    func start(_ work: SnapshotWork) {
        queue.async { [self] in
            let outcome = work.run()
            finished.withLock { $0.append(outcome) }
        }
    }

    /// The outcomes of the work done since the last call, in order.
    func takeFinished() -> [SnapshotWork.Outcome] {
        finished.withLock { outcomes in
            defer { outcomes = [] }
            return outcomes
        }
    }
}
