import Foundation
import Logging
import ServiceLifecycle

/// The `--ready-file` of a gateway as a service: the file is created once `isReady()` holds (the
/// gateway listens and the broker has answered it), so that a supervisor (scripts/run's rolling
/// restart) knows when the replacement can take clients, and removed when the drain starts.
struct ReadyFile: Service {
    /// How often readiness is checked while waiting.
    static let pollInterval = Duration.milliseconds(50)

    let path: String
    let isReady: @Sendable () -> Bool
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown { [self] in try await write() }
        try? await gracefulShutdown()
        remove()
    }

    /// Waits until `isReady()` holds (or the task is cancelled), then writes the file: the process id
    /// and a newline, written to a temporary file first and renamed so the file appears complete.
    private func write() async throws {
        while !isReady() {
            try await Task.sleep(for: Self.pollInterval)
        }
        let temporary = path + ".tmp"
        do {
            try Data("\(getpid())\n".utf8).write(to: URL(fileURLWithPath: temporary))
            try FileManager.default.moveItem(atPath: temporary, toPath: path)
            logger.info("ready", metadata: ["ready-file": "\(path)"])
        } catch {
            logger.error("ready-file-failed", metadata: ["path": "\(path)", "reason": "\(error)"])
        }
    }

    /// Removes the file (at the start of a drain: the gateway no longer takes new clients).
    private func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
