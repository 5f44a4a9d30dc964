/// An attempt that ended before it got an answer, with what became of it.
struct AttackFailure: Error {
    /// The outcome to count.
    let outcome: AttackOutcome
}
