import Foundation
import XCTest

@testable import GatewayCore

final class StaticFilesTests: XCTestCase {
    private var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("gw-static-\(UUID().uuidString)")
        let site = root.appendingPathComponent("site")
        try FileManager.default.createDirectory(
            at: site.appendingPathComponent("js"),
            withIntermediateDirectories: true
        )
        try "<h1>chat</h1>".write(to: site.appendingPathComponent("index.html"), atomically: true, encoding: .utf8)
        try "body{}".write(to: site.appendingPathComponent("style.css"), atomically: true, encoding: .utf8)
        try "console.log(1)".write(to: site.appendingPathComponent("js/app.js"), atomically: true, encoding: .utf8)
        try "secret".write(to: root.appendingPathComponent("secret.txt"), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(
            at: site.appendingPathComponent("leak.txt"),
            withDestinationURL: root.appendingPathComponent("secret.txt")
        )
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: root)
    }

    private func load() throws -> StaticFiles {
        try StaticFiles(directory: root.appendingPathComponent("site").path)
    }

    func testServesFilesWithContentTypes() throws {
        let files = try load()
        XCTAssertEqual(files.count, 3, "the symlink leading outside is skipped")
        let index = try XCTUnwrap(files.file(forRequestPath: "/"))
        XCTAssertEqual(String(buffer: index.body), "<h1>chat</h1>")
        XCTAssertEqual(index.contentType, "text/html; charset=utf-8")
        XCTAssertEqual(files.file(forRequestPath: "/index.html?v=2")?.contentType, "text/html; charset=utf-8")
        XCTAssertEqual(files.file(forRequestPath: "/style.css")?.contentType, "text/css; charset=utf-8")
        XCTAssertEqual(files.file(forRequestPath: "/js/app.js")?.contentType, "text/javascript; charset=utf-8")
        XCTAssertEqual(files.file(forRequestPath: "/js%2Fapp.js").map { String(buffer: $0.body) }, "console.log(1)")
        XCTAssertEqual(StaticFiles.contentType(forPath: "/a.PNG"), "image/png")
        XCTAssertEqual(StaticFiles.contentType(forPath: "/a.json"), "application/json")
        XCTAssertEqual(StaticFiles.contentType(forPath: "/README"), "application/octet-stream")
        XCTAssertNil(files.file(forRequestPath: "/missing.html"))
        XCTAssertNil(files.file(forRequestPath: "/js/"), "no index.html in js/")
    }

    func testDotfilesAndDotFoldersAreNeverServed() throws {
        let site = root.appendingPathComponent("site")
        try FileManager.default.createDirectory(
            at: site.appendingPathComponent(".git"),
            withIntermediateDirectories: true
        )
        try FileManager.default.createDirectory(
            at: site.appendingPathComponent("js/.cache"),
            withIntermediateDirectories: true
        )
        for (path, text) in [
            (".env", "TOKEN=1"), (".git/config", "[core]"), ("js/.cache/a.js", "x"), ("js/.x.js", "y"),
        ] {
            try text.write(to: site.appendingPathComponent(path), atomically: true, encoding: .utf8)
        }
        let files = try load()
        XCTAssertEqual(files.count, 3, "only the three visible files")
        for path in ["/.env", "/.git/config", "/js/.cache/a.js", "/js/.x.js", "/%2Eenv", "/.git/"] {
            XCTAssertNil(files.file(forRequestPath: path), path)
        }
        XCTAssertNotNil(files.file(forRequestPath: "/js/app.js"))
    }

    func testTraversalIsRefused() throws {
        let files = try load()
        for path in [
            "/../secret.txt", "/%2e%2e/secret.txt", "/js/../../secret.txt", "/js/../index.html", "/./index.html",
            "//index.html", "/..%2Fsecret.txt", "/..\\secret.txt", "/leak.txt", "index.html", "/index.html%00",
        ] {
            XCTAssertNil(files.file(forRequestPath: path), path)
        }
        XCTAssertNil(StaticFiles.normalizedKey("/a/../b"))
        XCTAssertEqual(StaticFiles.normalizedKey("/a/b/"), "/a/b/index.html")
    }

    func testMissingDirectoryThrows() {
        XCTAssertThrowsError(try StaticFiles(directory: root.appendingPathComponent("nope").path)) { error in
            XCTAssertEqual(error as? StaticFilesError, .notADirectory(root.appendingPathComponent("nope").path))
        }
    }
}
