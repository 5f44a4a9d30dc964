import RoomBrokerCore
import XCTest

/// Both brokers of a pair restarted with states read back from disk: the newer state (its term, then its
/// position) serves, the primary's on a tie; a broker without state never wins over one with it.
final class BinaryStarRankTests: XCTestCase {
    func status(_ state: PairState, term: UInt64, position: UInt64, hasState: Bool = true) -> PeerStatus {
        PeerStatus(state: state, term: term, isPrimary: state == .primary, hasState: hasState, position: position)
    }

    func star(_ role: PairRole, term: UInt64) -> BinaryStar {
        var star = BinaryStar(role: role, peerTimeoutMilliseconds: 1_000, now: 0)
        star.restore(term: term)
        return star
    }

    func testTheBackupWithTheNewerStateStartsAndThePrimaryWaits() {
        var primary = star(.primary, term: 3)
        var backup = star(.backup, term: 4)
        // The primary hears the backup's newer state (term 4): it waits rather than starting with its own.
        XCTAssertEqual(
            primary.peer(status(.backup, term: 4, position: 10), now: 1, hasState: true, rank: (3, 900)),
            .none
        )
        // The backup hears the primary's older state: it starts.
        XCTAssertEqual(
            backup.peer(status(.primary, term: 3, position: 900), now: 1, hasState: true, rank: (4, 10)),
            .becameActive(.started)
        )
        XCTAssertEqual(
            primary.peer(status(.active, term: 5, position: 10), now: 2, hasState: true, rank: (3, 900)),
            .becamePassive(nil)
        )
    }

    func testOnTheSameTermTheFurtherPositionWinsAndATieGoesToThePrimary() {
        var primary = star(.primary, term: 2)
        XCTAssertEqual(
            primary.peer(status(.backup, term: 2, position: 50), now: 1, hasState: true, rank: (2, 40)),
            .none
        )
        var tied = star(.primary, term: 2)
        XCTAssertEqual(
            tied.peer(status(.backup, term: 2, position: 40), now: 1, hasState: true, rank: (2, 40)),
            .becameActive(.started)
        )
        var backup = star(.backup, term: 2)
        XCTAssertEqual(
            backup.peer(status(.primary, term: 2, position: 40), now: 1, hasState: true, rank: (2, 40)),
            .none
        )
    }

    func testAPrimaryWithoutStateWaitsForABackupThatHasIt() {
        var primary = star(.primary, term: 0)
        XCTAssertEqual(
            primary.peer(status(.backup, term: 2, position: 40), now: 1, hasState: false),
            .none
        )
        var backup = star(.backup, term: 2)
        XCTAssertEqual(
            backup.peer(status(.primary, term: 0, position: 0, hasState: false), now: 1, hasState: true, rank: (2, 40)),
            .becameActive(.started)
        )
    }
}
