import Logging
import Synchronization
import ZeroMQ

/// SIGHUP reloads `--authorized-keys` (``BrokerService``): the folder is read on the signal's task, and the new allow-lists
/// wait here until the loop thread takes them (``take()``) and applies them (the ZAP handler for new
/// handshakes, ``LinkGuard`` for every later message). A folder that cannot be read is logged and the
/// keys in use are kept. Without CURVE a SIGHUP is logged and changes nothing.
final class KeyReload: Sendable {
    private let curve: BrokerCurve?
    private let logger: Logger
    private let pending = Mutex<ZAPAuthorizer?>(nil)

    init(curve: BrokerCurve?, logger: Logger) {
        self.curve = curve
        self.logger = logger
    }

    /// Reads the folder again and leaves the result for the loop.
    func load() {
        guard var curve, let directory = curve.authorizedKeysDirectory else {
            logger.notice("keys-reload-skipped", metadata: ["reason": "no --authorized-keys: nothing to reload"])
            return
        }
        do {
            curve.authorizedKeys = try CurveKeyFile.readAllowList(directory: directory)
        } catch {
            logger.error(
                "keys-reload-failed",
                metadata: ["dir": "\(directory)", "reason": "\(error); the keys loaded before stay in use"]
            )
            return
        }
        let authorizer = curve.authorizer
        pending.withLock { $0 = authorizer }
    }

    /// The allow-lists loaded since the last call, if any.
    func take() -> ZAPAuthorizer? {
        pending.withLock { pending in
            defer { pending = nil }
            return pending
        }
    }
}
