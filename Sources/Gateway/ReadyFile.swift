import Foundation
import Logging

/// The `--ready-file` of a gateway: created once the gateway listens and the broker has answered it,
/// so that a supervisor (scripts/run's rolling restart) knows when the replacement can take clients.
struct ReadyFile: Sendable {
    /// How often readiness is checked while waiting.
    static let pollInterval = Duration.milliseconds(50)

    let path: String

    /// Waits until `isReady()` holds (or the task is cancelled), then writes the file: the process id
    /// and a newline, written to a temporary file first and renamed so the file appears complete.
    func write(whenReady isReady: @Sendable () -> Bool, logger: Logger) async {
        while !isReady() {
            do { try await Task.sleep(for: Self.pollInterval) } catch { return }
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
    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
