import XCTest

@testable import ZeroMQ

final class EndpointPolicyTests: XCTestCase {
    private let plain = EndpointPolicy(hasCurveKeys: false, insecureLoopback: false)
    private let loopbackAllowed = EndpointPolicy(hasCurveKeys: false, insecureLoopback: true)
    private let keyed = EndpointPolicy(hasCurveKeys: true, insecureLoopback: false)

    private func refusal(_ policy: EndpointPolicy, _ endpoint: String) -> EndpointRefusal? {
        do {
            try policy.check(endpoint)
            return nil
        } catch {
            return error
        }
    }

    func testIPCAndInprocNeedNoKeys() {
        for policy in [plain, loopbackAllowed, keyed] {
            XCTAssertNil(refusal(policy, "ipc:///tmp/chat-run.abc/broker-a-commands"))
            XCTAssertNil(refusal(policy, "inproc://test"))
        }
    }

    func testTCPWithKeysGoesAnywhere() {
        for endpoint in [
            "tcp://0.0.0.0:5555", "tcp://*:5555", "tcp://10.0.0.2:5555", "tcp://[2001:db8::1]:5555",
            "tcp://broker.example:5555",
        ] {
            XCTAssertNil(refusal(keyed, endpoint), endpoint)
        }
    }

    func testPlainTCPToLoopbackNeedsTheFlag() {
        for endpoint in [
            "tcp://127.0.0.1:5555", "tcp://127.9.8.7:1", "tcp://localhost:5555", "tcp://[::1]:5555",
            "tcp://[::ffff:127.0.0.1]:5555", "tcp://10.0.0.2:0;127.0.0.1:5555",
        ] {
            XCTAssertNil(refusal(loopbackAllowed, endpoint), endpoint)
            XCTAssertEqual(refusal(plain, endpoint), .needsKeysOrInsecureLoopback(endpoint: endpoint), endpoint)
        }
    }

    func testPlainTCPElsewhereIsRefusedEvenWithTheFlag() {
        for endpoint in [
            "tcp://0.0.0.0:5555", "tcp://*:5555", "tcp://10.0.0.2:5555", "tcp://128.0.0.1:5555", "tcp://[::2]:5555",
            "tcp://lo:5555", "tcp://localhost.example:5555", "tcp://127.0.0.1:0;10.0.0.2:5555", "tcp://127.0.0.1",
        ] {
            XCTAssertEqual(refusal(loopbackAllowed, endpoint), .needsKeys(endpoint: endpoint), endpoint)
            XCTAssertEqual(refusal(plain, endpoint), .needsKeys(endpoint: endpoint), endpoint)
        }
    }

    func testOtherTransportsAreRefused() {
        for endpoint in ["pgm://eth0;239.192.1.1:5555", "ws://127.0.0.1:5555", "127.0.0.1:5555", ""] {
            XCTAssertEqual(refusal(keyed, endpoint), .unsupportedTransport(endpoint: endpoint), endpoint)
        }
        XCTAssertEqual(EndpointPolicy.transport(of: "TCP://127.0.0.1:1"), .tcp)
    }

    func testTheMessagesNameTheFlagsToAdd() {
        let keys = "--curve-secret-key and --authorized-keys"
        let remote = EndpointRefusal.needsKeys(endpoint: "tcp://0.0.0.0:5555").message(keyFlags: keys)
        XCTAssertTrue(
            remote.contains(keys) && remote.contains("scripts/keys") && remote.contains("tcp://0.0.0.0:5555"),
            remote
        )
        XCTAssertFalse(remote.contains("--insecure-loopback"), "the flag would not help there: \(remote)")
        let local = EndpointRefusal.needsKeysOrInsecureLoopback(endpoint: "tcp://127.0.0.1:5555").message(
            keyFlags: keys
        )
        XCTAssertTrue(local.contains(keys) && local.contains("--insecure-loopback") && local.contains("ipc://"), local)
    }
}
