@testable import GatewayCore
import XCTest

final class SessionHelpersTests: XCTestCase {
    func testRemoteAddressHost() {
        XCTAssertEqual(RemoteAddress.host(of: "127.0.0.1:5000"), "127.0.0.1")
        XCTAssertEqual(RemoteAddress.host(of: "[::1]:5000"), "::1")
        XCTAssertEqual(RemoteAddress.host(of: "::1"), "::1")
        XCTAssertEqual(RemoteAddress.host(of: "unknown"), "unknown")
    }
}
