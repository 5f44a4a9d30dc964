import ChatAPI
import ChatWire
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

    /// Takes one slot of each of a client's `keys` (``ClientAddress/limitKeys``): a scope allows
    /// `maxPerKey` × its ``AddressScope/budgetMultiplier``. Returns the first scope that is full, and
    /// then takes nothing; nil when every slot was taken.
    func acquire(_ keys: [(scope: AddressScope, key: String)]) -> AddressScope? {
        state.withLock { state in
            for (scope, key) in keys where state.perKey[key, default: 0] >= maxPerKey * scope.budgetMultiplier {
                return scope
            }
            for (_, key) in keys { state.perKey[key, default: 0] += 1 }
            return nil
        }
    }

    /// Gives back the slots taken with `acquire(_:)`.
    func release(_ keys: [(scope: AddressScope, key: String)]) {
        state.withLock { state in
            for (_, key) in keys {
                let count = state.perKey[key, default: 0]
                state.perKey[key] = count > 1 ? count - 1 : nil
            }
        }
    }

    /// Connections open now (for tests).
    var total: Int { state.withLock { $0.total } }
}
