import ProcessLimits
import XCTest

#if canImport(Glibc)
import Glibc
#endif

final class FileDescriptorLimitTests: XCTestCase {
    func testRaisingReachesTheHardLimit() throws {
        // Start from a low soft limit, as on many machines (1024), so that the raise is visible.
        let hard = try XCTUnwrap(FileDescriptorLimit.read()).maximum
        var lowered = rlimit()
        lowered.rlim_cur = rlim_t(min(hard, 256))
        lowered.rlim_max = rlim_t(hard)
        #if canImport(Glibc)
        XCTAssertEqual(setrlimit(__rlimit_resource_t(UInt32(RLIMIT_NOFILE.rawValue)), &lowered), 0)
        #endif
        XCTAssertEqual(FileDescriptorLimit.read()?.current, min(hard, 256))

        let after = try XCTUnwrap(FileDescriptorLimit.raiseToMaximum())
        XCTAssertEqual(after.maximum, hard)
        XCTAssertEqual(after.current, hard, "the soft limit is raised to the hard limit")
        XCTAssertEqual(FileDescriptorLimit.read(), after, "the raise is in force")
        XCTAssertEqual(after.description, hard == UInt64.max ? "unlimited/unlimited" : "\(hard)/\(hard)")
    }
}
