import ChatAPI
import XCTest

/// `/status` and `/status.json` belong to the API: never static files, read-only, and counted by the
/// per-address HTTP request limit like every API path but `/healthz`.
final class StatusRouteTests: XCTestCase {
    func testBothPathsAreReadOnlyAPIRoutesUnderTheRequestLimit() throws {
        XCTAssertEqual(APIPath(path: "/status")?.patterns, ["/status"])
        XCTAssertEqual(APIPath(path: "/status.json")?.patterns, ["/status.json"])
        XCTAssertNil(APIPath(path: "/status/"))
        XCTAssertNil(APIPath(path: "/status.html"))
        for path in ["/status", "/status.json"] {
            XCTAssertEqual(APIPath(path: path)?.isRateLimited, true, path)
            XCTAssertEqual(APIPath(path: path)?.allowedMethods, [.get, .head], path)
        }
        for (path, format) in [("/status", StatusFormat.html), ("/status.json", .json)] {
            let decoded = try APIRequestDecoder.decode(
                method: "GET",
                path: path,
                query: "",
                contentType: nil,
                origin: nil,
                authorization: nil,
                body: [UInt8](),
                isAllowedOrigin: { _ in false }
            )
            XCTAssertEqual(decoded, .status(format), path)
        }
        XCTAssertThrowsError(
            try APIRequestDecoder.decode(
                method: "POST",
                path: "/status",
                query: "",
                contentType: "application/json",
                origin: nil,
                authorization: nil,
                body: [UInt8](),
                isAllowedOrigin: { _ in true }
            )
        ) { error in
            XCTAssertEqual((error as? APIRefusal)?.status, 405)
        }
    }
}
