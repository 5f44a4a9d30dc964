/// A log-linear histogram of latencies in microseconds: exact below 128 µs, then 64 sub-buckets per
/// power of two (≤ 1.6 % error). Mergeable, so each event loop keeps its own.
struct LatencyHistogram: Sendable, Codable {
    private static let linear: UInt64 = 128
    private static let subBuckets = 64
    private static let bucketCount = 128 + 58 * 64

    private var counts: [UInt64]
    /// Number of recorded values.
    private(set) var count: UInt64 = 0
    /// Largest recorded value, µs.
    private(set) var max: UInt64 = 0
    /// Sum of recorded values, µs (for the mean).
    private(set) var sum: UInt64 = 0

    init() {
        counts = [UInt64](repeating: 0, count: Self.bucketCount)
    }

    /// Records one latency of `micros` µs.
    mutating func record(_ micros: UInt64) {
        counts[Self.index(of: micros)] &+= 1
        count &+= 1
        sum &+= micros
        if micros > max { max = micros }
    }

    /// Adds every value of `other`.
    mutating func merge(_ other: LatencyHistogram) {
        for i in 0..<counts.count { counts[i] &+= other.counts[i] }
        count &+= other.count
        sum &+= other.sum
        if other.max > max { max = other.max }
    }

    /// Mean latency in µs, 0 when empty.
    var mean: Double { count == 0 ? 0 : Double(sum) / Double(count) }

    /// The value at quantile `q` (0...1) in µs: the upper edge of its bucket, never above `max`.
    func value(atQuantile q: Double) -> UInt64 {
        guard count > 0 else { return 0 }
        let rank = Swift.max(1, UInt64((q * Double(count)).rounded(.up)))
        var seen: UInt64 = 0
        for (i, n) in counts.enumerated() where n > 0 {
            seen += n
            if seen >= rank { return Swift.min(Self.upperEdge(of: i), max) }
        }
        return max
    }

    private static func index(of value: UInt64) -> Int {
        if value < linear { return Int(value) }
        let msb = 63 - value.leadingZeroBitCount
        let shift = msb - 6
        let mantissa = Int(value >> UInt64(shift)) - subBuckets
        return Swift.min(bucketCount - 1, Int(linear) + (shift - 1) * subBuckets + mantissa)
    }

    private static func upperEdge(of index: Int) -> UInt64 {
        if index < Int(linear) { return UInt64(index) }
        let shift = (index - Int(linear)) / subBuckets + 1
        let mantissa = UInt64((index - Int(linear)) % subBuckets + subBuckets)
        return ((mantissa + 1) << UInt64(shift)) - 1
    }
}
