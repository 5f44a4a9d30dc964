import Synchronization

/// Counts the open connections of one gateway process, in total and per client address key, for
/// every event loop at once.
final class ConnectionCounter: Sendable {
    private struct State {
        var total = 0
        var perKey: [String: Int] = [:]
    }

    let maxTotal: Int
    let maxPerKey: Int
    private let state = Mutex(State())

    init(maxTotal: Int, maxPerKey: Int) {
        self.maxTotal = maxTotal
        self.maxPerKey = maxPerKey
    }

    /// Counts a newly accepted connection; `false` when the process is now over `maxTotal`.
    /// Every call is matched by one `closed()`.
    func opened() -> Bool {
        state.withLock { state in
            state.total += 1
            return state.total <= maxTotal
        }
    }

    /// Forgets a connection counted by `opened()`.
    func closed() {
        state.withLock { $0.total -= 1 }
    }

    /// Takes one of `key`'s `maxPerKey` slots; `false` (and nothing taken) when all are in use.
    func acquire(_ key: String) -> Bool {
        state.withLock { state in
            let count = state.perKey[key, default: 0]
            guard count < maxPerKey else { return false }
            state.perKey[key] = count + 1
            return true
        }
    }

    /// Gives back a slot taken with `acquire(_:)`.
    func release(_ key: String) {
        state.withLock { state in
            let count = state.perKey[key, default: 0]
            state.perKey[key] = count > 1 ? count - 1 : nil
        }
    }

    /// Connections open now (for tests).
    var total: Int { state.withLock { $0.total } }
}
