import NIOCore
import Synchronization

/// A token bucket per client address key, shared by every event loop of the process: each key may
/// make `burst` requests at once and `perSecond` on average. Runs on the monotonic clock.
///
/// Memory is bounded: past `maxKeys` buckets, full ones (idle keys) are forgotten; if that is not
/// enough, all are (the limit is briefly lax rather than the memory unbounded).
final class RequestRateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: NIODeadline
    }

    let perSecond: Double
    let burst: Int
    let maxKeys: Int
    private let buckets = Mutex([String: Bucket]())

    init(perSecond: Double, burst: Int, maxKeys: Int = 100_000) {
        self.perSecond = perSecond
        self.burst = burst
        self.maxKeys = maxKeys
    }

    /// Takes a token from `key`'s bucket; `false` when it is empty.
    func allow(_ key: String, now: NIODeadline = .now()) -> Bool {
        buckets.withLock { buckets in
            var bucket = buckets[key].map { refilled($0, now: now) } ?? Bucket(tokens: Double(burst), updated: now)
            let allowed = bucket.tokens >= 1
            if allowed { bucket.tokens -= 1 }
            if buckets[key] == nil, buckets.count >= maxKeys {
                buckets = buckets.filter { refilled($0.value, now: now).tokens < Double(burst) }
                if buckets.count >= maxKeys { buckets.removeAll() }
            }
            buckets[key] = bucket
            return allowed
        }
    }

    /// Buckets kept now (for tests).
    var count: Int { buckets.withLock { $0.count } }

    private func refilled(_ bucket: Bucket, now: NIODeadline) -> Bucket {
        guard now > bucket.updated else { return bucket }
        let seconds = Double((now - bucket.updated).nanoseconds) / 1e9
        return Bucket(tokens: min(Double(burst), bucket.tokens + seconds * perSecond), updated: now)
    }
}
