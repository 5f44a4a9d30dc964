import ChatAPI
import ChatWire
import NIOCore
import Synchronization

/// A ``TokenBucket`` per client address key, shared by every event loop of the process: each key may
/// make `burst` requests at once and `perSecond` on average. Runs on the monotonic clock.
///
/// Memory is bounded: past `maxKeys` buckets, full ones (idle keys) are forgotten; if that is not
/// enough, all are (the limit is briefly lax rather than the memory unbounded).
final class RequestRateLimiter: Sendable {
    let perSecond: Double
    let burst: Int
    let maxKeys: Int
    private let buckets = Mutex([String: TokenBucket]())

    init(perSecond: Double, burst: Int, maxKeys: Int = 100_000) {
        self.perSecond = perSecond
        self.burst = burst
        self.maxKeys = maxKeys
    }

    /// Takes a token from the bucket of each of a client's `keys` (``ClientAddress/limitKeys``): a
    /// scope's bucket holds `burst` and refills `perSecond`, both × its ``AddressScope/budgetMultiplier``.
    /// Returns the first scope whose bucket is empty, and then takes nothing; nil when allowed.
    func allow(_ keys: [(scope: AddressScope, key: String)], now: NIODeadline = .now()) -> AddressScope? {
        buckets.withLock { buckets in
            if buckets.count + keys.count > maxKeys {
                buckets = buckets.filter { !$0.value.isFull(at: now) }
                if buckets.count + keys.count > maxKeys { buckets.removeAll() }
            }
            for (scope, key) in keys {
                let multiplier = Double(scope.budgetMultiplier)
                let fresh = TokenBucket(
                    perSecond: perSecond * multiplier,
                    burst: burst * scope.budgetMultiplier,
                    now: now
                )
                guard buckets[key, default: fresh].hasToken(now: now) else { return scope }
            }
            for (_, key) in keys { _ = buckets[key]?.allow(now: now) }
            return nil
        }
    }

    /// Buckets kept now (for tests).
    var count: Int { buckets.withLock { $0.count } }
}
