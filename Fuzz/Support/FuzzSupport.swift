// Shared by every fuzz target (compiled into each one by scripts/fuzz).

/// The input libFuzzer hands to `LLVMFuzzerTestOneInput`, as bytes.
func fuzzInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// Stops the run when an invariant does not hold; libFuzzer then saves the input as a reproducer.
func require(
    _ condition: @autoclosure () -> Bool,
    _ message: @autoclosure () -> String,
    file: StaticString = #fileID,
    line: UInt = #line
) {
    if !condition() { fatalError("fuzz invariant failed: \(message())", file: file, line: line) }
}

/// The longest error message a client may be sent: messages name fields and limits, they do not
/// echo what the client sent (a 1 MB input must not become a 1 MB error).
let maxErrorMessageBytes = 512

/// A short printable preview of bytes for invariant messages.
func preview(_ bytes: some Collection<UInt8>) -> String {
    String(decoding: bytes.prefix(200), as: UTF8.self).debugDescription
}
