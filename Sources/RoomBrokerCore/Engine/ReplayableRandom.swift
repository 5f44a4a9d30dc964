/// The broker's only source of randomness (room passwords, salts, generated room names), made
/// replayable so that a standby applying the same input draws the same values (docs/ARCHITECTURE.md,
/// "Standby broker").
///
/// Live, it draws from the system CSPRNG (`getrandom(2)`) and records every draw until
/// ``takeRecorded()``; replaying, it hands out the recorded draws in order. The recording is never
/// logged; it travels only to the standby, like the password hash itself.
public struct ReplayableRandom: RandomNumberGenerator, Sendable, Codable {
    private var replaying: [UInt64] = []
    private var replayIndex = 0
    private var recorded: [UInt64] = []
    /// Draws asked for beyond what a replay provided (a sign that the standby diverged).
    public private(set) var overdrawn = 0

    /// A live source.
    public init() {}

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        if replayIndex < replaying.count {
            defer { replayIndex += 1 }
            return replaying[replayIndex]
        }
        if !replaying.isEmpty { overdrawn += 1 }
        var system = SystemRandomNumberGenerator()
        let value = system.next()
        recorded.append(value)
        return value
    }

    /// From now on hand out `draws` first (the active's draws for the input being replayed).
    public mutating func replay(_ draws: [UInt64]) {
        replaying = draws
        replayIndex = 0
        recorded = []
    }

    /// Drops the values drawn live and not taken (``takeRecorded()``); a replay's draws stay.
    public mutating func forgetRecorded() {
        recorded = []
    }

    /// The values drawn since the last call (or replay), to ship with the input that drew them.
    public mutating func takeRecorded() -> [UInt64] {
        defer {
            recorded = []
            replaying = []
            replayIndex = 0
        }
        return recorded
    }

    // The state is not part of a snapshot: a restored engine starts live.
    public init(from decoder: any Decoder) throws { self.init() }
    public func encode(to encoder: any Encoder) throws {}
}
