/// One attack: prepared before the clock starts, then attempted at its rate until stopped.
protocol Attack: Sendable {
    /// Which attack.
    var kind: AttackKind { get }
    /// Attempts per second.
    var rate: Double { get }
    /// Most attempts running at once (more are skipped).
    var maxInFlight: Int { get }
    /// Creates the rooms, fills the histories and opens the connections the attack needs.
    func prepare() async throws
    /// Attempt number `index`; returns what became of it.
    func attempt(_ index: Int) async -> AttackOutcome
    /// Closes what the attack holds.
    func finish() async
}

extension Attack {
    /// Attempts at ``rate`` until `context.stop` is set, counting every attempt and its outcome.
    func run(in context: AttackContext) async {
        let (kind, tally) = (self.kind, context.tally)
        await AttackPacer(rate: rate, maxInFlight: maxInFlight).run(until: context.stop) { index in
            tally.attempt(kind)
            tally.record(await attempt(index), for: kind)
        } skipped: { _ in
            tally.attempt(kind)
            tally.record(.skipped, for: kind)
        }
    }
}
