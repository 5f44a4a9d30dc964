import XCTest

@testable import ZeroMQ

final class ZAPAuthorizerTests: XCTestCase {
    private var gateway: CurvePublicKey!
    private var peer: CurvePublicKey!
    private var authorizer: ZAPAuthorizer!

    override func setUpWithError() throws {
        gateway = try CurveKeyPair.generate().publicKey
        peer = try CurveKeyPair.generate().publicKey
        authorizer = ZAPAuthorizer(allowLists: [
            "gateways": [gateway: "gateway-1", peer: "broker-b"], "peer": [peer: "peer"],
        ])
    }

    /// A request as libzmq sends it (RFC 27): version, request id, domain, address, routing id, mechanism, credentials.
    private func request(
        domain: String = "gateways",
        mechanism: String = "CURVE",
        key: CurvePublicKey?,
        id: String = "7",
        routingID: String = ""
    ) -> [[UInt8]] {
        var frames: [[UInt8]] = [
            Array("1.0".utf8), Array(id.utf8), Array(domain.utf8), Array("10.0.0.2".utf8), Array(routingID.utf8),
            Array(mechanism.utf8),
        ]
        if let key { frames.append(key.bytes) }
        return frames
    }

    private func status(_ decision: ZAPDecision) -> String { String(decoding: decision.reply[2], as: UTF8.self) }

    func testAnAllowedKeyIsLetInWithItsName() {
        let decision = authorizer.decide(request(key: gateway))
        XCTAssertTrue(decision.allowed)
        XCTAssertEqual(
            decision.reply,
            [Array("1.0".utf8), Array("7".utf8), Array("200".utf8), Array("OK".utf8), Array(gateway.z85.utf8), []],
            "the User-Id is the key, which a reload cannot give to another key"
        )
        XCTAssertEqual(decision.name, "gateway-1")
        XCTAssertEqual(decision.address, "10.0.0.2")
        XCTAssertEqual(decision.key, gateway)
    }

    func testARoutingIDIsBoundToItsKeysName() {
        for bound in ["gateway-1", "gateway-1/", "gateway-1/gw-3fa9"] {
            XCTAssertTrue(RoutingIDBinding.isBound(Array(bound.utf8), to: "gateway-1"), bound)
        }
        for other in ["", "gateway-2", "gateway-2/gw-1", "gateway-10", "gateway-1x/a", "gateway", "x/gateway-1"] {
            XCTAssertFalse(RoutingIDBinding.isBound(Array(other.utf8), to: "gateway-1"), other)
        }
        XCTAssertEqual(RoutingIDBinding.routingID(name: "gateway-1", suffix: "gw-3fa9"), "gateway-1/gw-3fa9")
    }

    func testEachMessageIsCheckedAgainstTheAllowListAsItIsNow() {
        let userID = ZAPAuthorizer.userID(of: gateway)
        XCTAssertEqual(
            authorizer.check(userID: userID, routingID: Array("gateway-1/a".utf8), domain: "gateways"),
            .success("gateway-1")
        )
        XCTAssertEqual(
            authorizer.check(userID: userID, routingID: Array("gateway-2/a".utf8), domain: "gateways"),
            .failure(.routingIDNotBound(name: "gateway-1"))
        )
        XCTAssertEqual(
            authorizer.check(userID: nil, routingID: Array("gateway-1".utf8), domain: "gateways"),
            .failure(.missingUserID)
        )
        XCTAssertEqual(authorizer.check(userID: userID, routingID: [], domain: "peer"), .failure(.unknownKey))
        // Reloaded without the key: its connection's messages are refused from then on.
        let reloaded = ZAPAuthorizer(allowLists: ["gateways": [peer: "broker-b"]])
        XCTAssertEqual(
            reloaded.check(userID: userID, routingID: Array("gateway-1".utf8), domain: "gateways"),
            .failure(.unknownKey)
        )
        // The same name given to a new key: the old key's connection is not the name's any more.
        let renewed = ZAPAuthorizer(allowLists: ["gateways": [peer: "gateway-1"]])
        XCTAssertEqual(
            renewed.check(userID: userID, routingID: Array("gateway-1".utf8), domain: "gateways"),
            .failure(.unknownKey)
        )
    }

    func testAnUnknownKeyIsRefusedWithTheRequestsID() throws {
        let stranger = try CurveKeyPair.generate().publicKey
        let decision = authorizer.decide(request(key: stranger, id: "42"))
        XCTAssertEqual(decision.refusal, .unknownKey)
        XCTAssertEqual(decision.reply.count, 6)
        XCTAssertEqual(decision.reply[1], Array("42".utf8))
        XCTAssertEqual(status(decision), "400")
        XCTAssertEqual(decision.key, stranger, "the key is reported for the log line (its prefix)")
        XCTAssertNil(decision.name)
    }

    func testEachDomainHasItsOwnAllowList() {
        // A gateway's key is not the peer broker's: it cannot feed the standby forged updates.
        XCTAssertEqual(authorizer.decide(request(domain: "peer", key: gateway)).refusal, .unknownKey)
        XCTAssertTrue(authorizer.decide(request(domain: "peer", key: peer)).allowed)
        XCTAssertEqual(authorizer.decide(request(domain: "other", key: gateway)).refusal, .unknownDomain("other"))
    }

    func testPeersWithoutCURVEAndBrokenRequestsAreRefused() {
        let null = authorizer.decide(request(mechanism: "NULL", key: nil))
        XCTAssertEqual(null.refusal, .notCurve(mechanism: "NULL"))
        XCTAssertEqual(status(null), "400")
        XCTAssertEqual(
            authorizer.decide(request(mechanism: "PLAIN", key: nil) + [Array("user".utf8), Array("pw".utf8)]).refusal,
            .notCurve(mechanism: "PLAIN")
        )
        var wrongVersion = request(key: gateway)
        wrongVersion[0] = Array("2.0".utf8)
        XCTAssertEqual(authorizer.decide(wrongVersion).refusal, .unsupportedVersion)
        XCTAssertEqual(status(authorizer.decide(wrongVersion)), "500")
        var shortKey = request(key: gateway)
        shortKey[6] = Array(gateway.bytes.prefix(31))
        XCTAssertEqual(authorizer.decide(shortKey).refusal, .malformedRequest)
        let truncated = authorizer.decide([Array("1.0".utf8), Array("9".utf8)])
        XCTAssertEqual(truncated.refusal, .malformedRequest)
        XCTAssertEqual(truncated.reply.count, 6, "even a broken request gets a whole reply (the REP socket needs one)")
        XCTAssertEqual(truncated.reply[1], Array("9".utf8))
        XCTAssertEqual(authorizer.decide([]).reply.count, 6)
    }
}
