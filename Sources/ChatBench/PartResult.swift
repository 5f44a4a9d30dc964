import Foundation

/// What one part of a run (one process) reports at the end; a worker process sends it to the
/// coordinating one as a line of JSON.
struct PartResult: Codable, Sendable {
    /// The part's counters and latencies.
    var stats: StatsSnapshot
    /// `joined` events still missing when sending began.
    var missingJoined: Int
    /// CPU time (user + system) the part's process used, s.
    var cpuSeconds: Double

    /// The results of all parts added up (the CPU times too: each part is its own process, except
    /// when there is one part, which is the coordinating process itself).
    static func merged(_ parts: [PartResult]) -> PartResult {
        var total = PartResult(stats: StatsSnapshot(), missingJoined: 0, cpuSeconds: 0)
        for part in parts {
            total.stats.merge(part.stats)
            total.missingJoined += part.missingJoined
            total.cpuSeconds += part.cpuSeconds
        }
        return total
    }

}
