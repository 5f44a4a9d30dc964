import ProcessLimits
import XCTest

final class FileDescriptorLimitTests: XCTestCase {
    func testRaisingReachesTheHardLimitAndNeverLowers() throws {
        let before = try XCTUnwrap(FileDescriptorLimit.read())
        let after = try XCTUnwrap(FileDescriptorLimit.raiseToMaximum())
        XCTAssertEqual(after.maximum, before.maximum)
        XCTAssertEqual(after.current, after.maximum, "the soft limit is raised to the hard limit")
        XCTAssertEqual(FileDescriptorLimit.read(), after, "the raise is in force")
        XCTAssertTrue(after.description.contains("/"), after.description)
    }
}
