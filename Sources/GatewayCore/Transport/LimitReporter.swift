import ChatLogging
import Logging

/// Reports a limit that bit: always to the metric hook, and as a log line at most once per limit
/// per client address key per `window` (a ``LogThrottle``); the next line says how many were
/// suppressed in between.
final class LimitReporter: Sendable {
    private struct Key: Hashable, Sendable {
        var limit: GatewayLimit
        var client: String
    }

    private let logger: Logger
    private let onLimited: (@Sendable (GatewayLimit) -> Void)?
    private let lines: LogThrottle<Key>

    init(
        logger: Logger,
        window: Duration = .seconds(10),
        maxKeys: Int = 10_000,
        onLimited: (@Sendable (GatewayLimit) -> Void)?
    ) {
        self.logger = logger
        self.onLimited = onLimited
        self.lines = LogThrottle(limit: 1, per: window, maxKeys: maxKeys)
    }

    /// Counts one refusal by `limit` of the client keyed `client`, and logs it unless it was logged
    /// within the window.
    func limited(_ limit: GatewayLimit, client: String, now: ContinuousClock.Instant = .now) {
        onLimited?(limit)
        let verdict = lines.check(Key(limit: limit, client: client), now: now)
        guard verdict.admitted else { return }
        let metadata: Logger.Metadata = ["limit": "\(limit.rawValue)", "client": "\(client)"]
        logger.notice("limited", metadata: metadata.merging(verdict.metadata) { $1 })
    }
}
