import Dispatch
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Set once the attack should end: at the end of `--duration`, or on SIGINT or SIGTERM. Safe from any thread
/// (unchecked: the signal sources, which are not `Sendable`, are only touched under their lock).
final class StopFlag: @unchecked Sendable {
    private let stopped = NIOLockedValueBox(false)
    private let sources = NIOLockedValueBox([any DispatchSourceSignal]())

    /// True once stopped.
    var isSet: Bool { stopped.withLockedValue { $0 } }

    /// Stops.
    func set() {
        stopped.withLockedValue { $0 = true }
    }

    /// Sets the flag on SIGINT and SIGTERM instead of ending the process, so that the report is still written.
    func setOnSignals() {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [self] in set() }
            source.resume()
            sources.withLockedValue { $0.append(source) }
        }
    }

    /// Sleeps until stopped or `seconds` passed; true when stopped.
    func wait(seconds: Double) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while !isSet, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(min(50, max(1, Int64(seconds * 1000)))))
        }
        return isSet
    }
}
