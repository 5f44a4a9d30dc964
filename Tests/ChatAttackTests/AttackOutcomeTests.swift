import ChatWire
import XCTest

@testable import ChatAttack

final class AttackOutcomeTests: XCTestCase {
    func testAcksAreReadAsAcceptedOrRefusedByTheirCode() {
        XCTAssertEqual(AttackOutcome(ack: #"[{"room":"r","seq":3,"history":[]}]"#), .accepted)
        XCTAssertEqual(AttackOutcome(ack: #"[{"error":"slow down","code":"rate_limited"}]"#), .refused(.rateLimited))
        XCTAssertEqual(AttackOutcome(ack: #"[{"error":"what?","code":"unknown_event"}]"#), .refused(.unknownEvent))
        XCTAssertEqual(AttackOutcome(ack: #"[{"error":"x","code":"no_such_code"}]"#), .unreadableAck)
        XCTAssertEqual(AttackOutcome(ack: "nonsense"), .unreadableAck)
    }

    func testRefusalsAreTheServersNoes() {
        XCTAssertTrue(AttackOutcome.refused(.badRequest).isRefusal)
        XCTAssertTrue(AttackOutcome.closedByServer(code: 1008).isRefusal)
        XCTAssertTrue(AttackOutcome.upgradeRefused(status: 429).isRefusal)
        XCTAssertFalse(AttackOutcome.accepted.isRefusal)
        XCTAssertFalse(AttackOutcome.heldBack.isRefusal)
        XCTAssertEqual(AttackOutcome.closedByServer(code: 1008).description, "closed 1008")
    }

    func testEachAttackHasItsOwnBlockOfAddresses() {
        let blocks = AttackKind.allCases.map(\.addressBlock)
        XCTAssertEqual(Set(blocks).count, blocks.count)
        let ghosts = AttackAddresses(kind: .ghosts, count: 3)
        XCTAssertEqual(ghosts.address(for: 0)?.ipAddress, "127.0.1.2")
        XCTAssertEqual(ghosts.address(for: 4)?.ipAddress, "127.0.1.3")
        XCTAssertEqual(AttackAddresses(kind: .creates, count: 250).address(for: 249)?.ipAddress, "127.0.5.251")
    }

    func testJunkWithAnAckIDCarriesIt() {
        for junk in JunkPacket.allCases {
            XCTAssertEqual(junk.text(ackID: 77).hasPrefix("4277"), junk.hasAck, "\(junk)")
        }
    }

    func testJSONTextEscapesLikeTheServer() {
        XCTAssertEqual(JSONText.object(["room": "a\"b", "name": "x"]), #"{"room":"a\"b","name":"x"}"#)
    }
}
