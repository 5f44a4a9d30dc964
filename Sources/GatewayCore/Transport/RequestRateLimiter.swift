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

    /// Takes a token from `key`'s bucket; `false` when it is empty.
    func allow(_ key: String, now: NIODeadline = .now()) -> Bool {
        buckets.withLock { buckets in
            if buckets[key] == nil, buckets.count >= maxKeys {
                buckets = buckets.filter { !$0.value.isFull(at: now) }
                if buckets.count >= maxKeys { buckets.removeAll() }
            }
            return buckets[key, default: TokenBucket(perSecond: perSecond, burst: burst, now: now)].allow(now: now)
        }
    }

    /// Buckets kept now (for tests).
    var count: Int { buckets.withLock { $0.count } }
}
