import Dispatch
import Foundation
import Logging
import ServiceLifecycle

/// The first service told of a graceful shutdown (it is last in the group): logs `shutting-down` and
/// ends the process if the drain has not finished ``deadline`` later (monotonic: `DispatchTime`).
struct DrainWatchdog: Service {
    /// Longest a drain may take before the process exits anyway (clients that do not answer).
    static let deadline = DispatchTimeInterval.seconds(9)

    let logger: Logger

    func run() async throws {
        do {
            try await gracefulShutdown()
            logger.info("shutting-down")
        } catch {
            // The group is cancelled (a service failed): the same deadline holds.
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + Self.deadline) { [logger] in
            logger.error("drain-timeout", metadata: ["reason": "the drain did not finish in time; exiting anyway"])
            exit(1)
        }
    }
}
