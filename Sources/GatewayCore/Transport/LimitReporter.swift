import Logging
import NIOCore
import Synchronization

/// Reports a limit that bit: always to the metric hook, and as a log line at most once per limit
/// per client address key per `window`; the next line says how many were suppressed in between.
final class LimitReporter: Sendable {
    private struct Key: Hashable {
        var limit: GatewayLimit
        var client: String
    }

    private struct Entry {
        var loggedAt: NIODeadline
        var suppressed: Int
    }

    let window: TimeAmount
    let maxKeys: Int
    private let logger: Logger
    private let onLimited: (@Sendable (GatewayLimit) -> Void)?
    private let entries = Mutex([Key: Entry]())

    init(logger: Logger, window: TimeAmount = .seconds(10), maxKeys: Int = 10_000, onLimited: (@Sendable (GatewayLimit) -> Void)?) {
        self.logger = logger
        self.window = window
        self.maxKeys = maxKeys
        self.onLimited = onLimited
    }

    /// Counts one refusal by `limit` of the client keyed `client`, and logs it unless it was logged
    /// within the window.
    func limited(_ limit: GatewayLimit, client: String, now: NIODeadline = .now()) {
        onLimited?(limit)
        let key = Key(limit: limit, client: client)
        let suppressed: Int? = entries.withLock { entries in
            if let entry = entries[key], now - entry.loggedAt < window {
                entries[key]?.suppressed += 1
                return nil
            }
            if entries[key] == nil, entries.count >= maxKeys {
                entries = entries.filter { now - $0.value.loggedAt < window }
                if entries.count >= maxKeys { entries.removeAll() }
            }
            let suppressed = entries[key]?.suppressed ?? 0
            entries[key] = Entry(loggedAt: now, suppressed: 0)
            return suppressed
        }
        guard let suppressed else { return }
        var metadata: Logger.Metadata = ["limit": "\(limit.rawValue)", "client": "\(client)"]
        if suppressed > 0 { metadata["suppressed"] = "\(suppressed)" }
        logger.notice("limited", metadata: metadata)
    }
}
