import NIOConcurrencyHelpers

/// Starts attempts at a fixed rate, with at most `maxInFlight` running at once: an attempt due while
/// that many run is skipped and counted. The rate is what bounds the attacker's CPU.
struct AttackPacer: Sendable {
    /// Attempts per second.
    let rate: Double
    /// Most attempts running at once.
    let maxInFlight: Int

    /// Runs `attempt(i)` for i = 0, 1, … at the rate until `stop` is set, then waits for the running ones.
    /// `skipped(i)` is called instead of an attempt that could not start.
    func run(
        until stop: StopFlag,
        attempt: @escaping @Sendable (Int) async -> Void,
        skipped: @escaping @Sendable (Int) -> Void
    ) async {
        guard rate > 0 else { return }
        let inFlight = NIOLockedValueBox(0)
        let start = ContinuousClock.now
        var started = 0
        await withDiscardingTaskGroup { group in
            while !stop.isSet {
                let elapsed = ContinuousClock.now - start
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                let due = Int(seconds * rate) + 1
                while started < due {
                    let index = started
                    started += 1
                    let admitted = inFlight.withLockedValue { count -> Bool in
                        guard count < maxInFlight else { return false }
                        count += 1
                        return true
                    }
                    guard admitted else {
                        skipped(index)
                        continue
                    }
                    group.addTask {
                        await attempt(index)
                        inFlight.withLockedValue { $0 -= 1 }
                    }
                }
                try? await Task.sleep(for: .milliseconds(max(2, min(50, Int64(1000 / rate)))))
            }
        }
    }
}
