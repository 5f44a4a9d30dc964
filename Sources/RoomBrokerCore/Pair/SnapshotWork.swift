import ChatWire

/// Encoding or decoding a whole ``BrokerSnapshot``: work that grows with the state (hundreds of MB),
/// so the loop hands it to another thread and goes on serving. The snapshot to encode is a
/// copy-on-write copy of the engine's state: the loop's later changes copy what they touch and leave it
/// as it was.
public enum SnapshotWork: Sendable, Equatable, CustomStringConvertible {
    /// Encode the state for the standby that asked (work `id`).
    indirect case encode(id: UInt64, snapshot: BrokerSnapshot)
    /// Decode the bytes the active sent (work `id`).
    case decode(id: UInt64, bytes: [UInt8])

    /// What came of a piece of work, and how long it took.
    public enum Outcome: Sendable {
        /// The encoded snapshot.
        case encoded(id: UInt64, Result<[UInt8], SnapshotWorkError>, milliseconds: Double)
        /// The decoded snapshot.
        case decoded(id: UInt64, Result<BrokerSnapshot, SnapshotWorkError>, milliseconds: Double)
    }

    /// The work's id.
    public var id: UInt64 {
        switch self {
        case .encode(let id, _), .decode(let id, _): return id
        }
    }

    /// Does the work (on any thread).
    public func run() -> Outcome {
        let clock = ContinuousClock()
        let start = clock.now
        func elapsed() -> Double {
            let duration = clock.now - start
            return Double(duration.components.seconds) * 1_000 + Double(duration.components.attoseconds) / 1e15
        }
        switch self {
        case .encode(let id, let snapshot):
            let result: Result<[UInt8], SnapshotWorkError>
            do {
                result = .success(try snapshot.encoded())
            } catch {
                result = .failure(SnapshotWorkError(description: "\(error)"))
            }
            return .encoded(id: id, result, milliseconds: elapsed())
        case .decode(let id, let bytes):
            let result: Result<BrokerSnapshot, SnapshotWorkError>
            do {
                result = .success(try BrokerSnapshot.decode(bytes))
            } catch {
                result = .failure(SnapshotWorkError(description: "\(error)"))
            }
            return .decoded(id: id, result, milliseconds: elapsed())
        }
    }

    public static func == (lhs: SnapshotWork, rhs: SnapshotWork) -> Bool {
        switch (lhs, rhs) {
        case (.encode(let left, _), .encode(let right, _)), (.decode(let left, _), .decode(let right, _)):
            return left == right
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .encode(let id, _): return "encode snapshot #\(id)"
        case .decode(let id, let bytes): return "decode snapshot #\(id) (\(bytes.count) bytes)"
        }
    }
}

/// Why a snapshot could not be encoded or decoded.
public struct SnapshotWorkError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public var description: String
}
