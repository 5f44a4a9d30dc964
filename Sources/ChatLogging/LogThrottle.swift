import Logging
import Synchronization

/// Limits log lines that clients can trigger (`bad-packet`, `post-refused`, …) to `limit` lines
/// per `window` for each key (a connection id, a client address), so that a flood costs a few
/// lines, not one per request.
///
/// Each key gets a fixed window that starts with its first line. Past `limit` lines in it, lines
/// are suppressed and counted; the key's next admitted line reports the count
/// (``Verdict/log(suppressed:)``, and ``Verdict/metadata`` adds `suppressed=N`), and
/// ``endedWindows(now:)`` reports counts whose window ended with no later line. At most `maxKeys`
/// keys are remembered; past that the oldest windows are forgotten (their suppressed counts are
/// still reported, under the key `nil`). Thread-safe; each call takes one short lock.
///
/// ```swift
/// let throttle = LogThrottle<UInt64>(limit: 5, per: .seconds(10))
/// let verdict = throttle.check(connectionID)
/// if verdict.admitted {
///     logger.notice("bad-packet", metadata: ["conn": "\(connectionID)"].merging(verdict.metadata) { $1 })
/// }
/// // From a periodic tick:
/// for summary in throttle.endedWindows() {
///     logger.notice("suppressed", metadata: summary.metadata)
/// }
/// ```
public final class LogThrottle<Key: Hashable & Sendable>: Sendable {
    /// Whether to log a line, and how many lines of its key were suppressed before it.
    public enum Verdict: Equatable, Sendable {
        /// Log the line; `suppressed` lines of the same key were left out since the last one logged.
        case log(suppressed: Int)
        /// Leave the line out (it is counted).
        case suppress

        /// Whether the line is to be logged.
        public var admitted: Bool { self != .suppress }

        /// `["suppressed": "N"]` when lines were left out before this one, else empty.
        public var metadata: Logger.Metadata {
            if case .log(let suppressed) = self, suppressed > 0 { ["suppressed": "\(suppressed)"] } else { [:] }
        }
    }

    /// Lines suppressed for a key whose window ended (`key` is nil for keys forgotten to stay
    /// within `maxKeys`).
    public struct Summary: Equatable, Sendable {
        /// The key, or nil for forgotten keys together.
        public let key: Key?
        /// How many lines were suppressed.
        public let suppressed: Int

        /// `["key": key, "suppressed": "N"]` for a summary log line ("forgotten" for a nil key).
        public var metadata: Logger.Metadata {
            ["key": "\(key.map { "\($0)" } ?? "forgotten")", "suppressed": "\(suppressed)"]
        }
    }

    private struct Entry {
        var windowStart: ContinuousClock.Instant
        var lines: Int
        var suppressed: Int
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var forgottenSuppressed = 0
    }

    /// Lines admitted per key and window.
    public let limit: Int
    /// The length of a key's window.
    public let window: Duration
    /// The most keys remembered at once.
    public let maxKeys: Int
    private let state = Mutex(State())
    private let suppressedCount = Atomic<Int>(0)

    /// A throttle admitting `limit` lines per key every `window`, remembering at most `maxKeys` keys.
    public init(limit: Int, per window: Duration, maxKeys: Int = 10_000) {
        self.limit = max(limit, 0)
        self.window = window
        self.maxKeys = max(maxKeys, 1)
    }

    /// Lines suppressed since start, all keys together (for metrics).
    public var suppressedTotal: Int { suppressedCount.load(ordering: .relaxed) }

    /// The keys remembered now (for tests).
    var keyCount: Int { state.withLock { $0.entries.count } }

    /// Decides about one line for `key` at `now` (a monotonic instant; tests pass their own).
    public func check(_ key: Key, now: ContinuousClock.Instant = .now) -> Verdict {
        let verdict = state.withLock { state -> Verdict in
            if var entry = state.entries[key] {
                if now - entry.windowStart >= window {
                    let carried = entry.suppressed
                    entry = Entry(windowStart: now, lines: 0, suppressed: 0)
                    return admit(&entry, key: key, carried: carried, in: &state)
                }
                return admit(&entry, key: key, carried: 0, in: &state)
            }
            if state.entries.count >= maxKeys { makeRoom(in: &state, now: now) }
            var entry = Entry(windowStart: now, lines: 0, suppressed: 0)
            return admit(&entry, key: key, carried: 0, in: &state)
        }
        if verdict == .suppress { suppressedCount.add(1, ordering: .relaxed) }
        return verdict
    }

    /// Removes the keys whose window ended by `now` and returns those that had suppressed lines
    /// (and the forgotten keys' count), for one summary line each. Call it from a periodic tick.
    public func endedWindows(now: ContinuousClock.Instant = .now) -> [Summary] {
        state.withLock { state in
            var summaries: [Summary] = []
            state.entries = state.entries.filter { key, entry in
                guard now - entry.windowStart >= window else { return true }
                if entry.suppressed > 0 { summaries.append(Summary(key: key, suppressed: entry.suppressed)) }
                return false
            }
            if state.forgottenSuppressed > 0 {
                summaries.append(Summary(key: nil, suppressed: state.forgottenSuppressed))
                state.forgottenSuppressed = 0
            }
            return summaries
        }
    }

    private func admit(_ entry: inout Entry, key: Key, carried: Int, in state: inout State) -> Verdict {
        let verdict: Verdict
        if entry.lines < limit {
            entry.lines += 1
            verdict = .log(suppressed: entry.suppressed + carried)
            entry.suppressed = 0
        } else {
            entry.suppressed += 1
            verdict = .suppress
        }
        state.entries[key] = entry
        return verdict
    }

    /// Drops ended windows, and if the table is still full, the oldest quarter of the windows
    /// (so that a stream of new keys costs amortised O(log n) each, not a scan per key).
    private func makeRoom(in state: inout State, now: ContinuousClock.Instant) {
        var forgotten = 0
        state.entries = state.entries.filter { _, entry in
            guard now - entry.windowStart >= window else { return true }
            forgotten += entry.suppressed
            return false
        }
        if state.entries.count >= maxKeys {
            let oldest = state.entries.sorted { $0.value.windowStart < $1.value.windowStart }
                .prefix(max(1, maxKeys / 4))
            for (key, entry) in oldest {
                forgotten += entry.suppressed
                state.entries[key] = nil
            }
        }
        state.forgottenSuppressed += forgotten
    }
}
