// JSON parser: any bytes. A value that parses re-encodes (JSONWriter, sorted keys) to text that
// parses to the same value and re-encodes to the same text.
import SocketIO

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    guard let value = try? JSONValue.parse(input) else { return 0 }
    let text = value.jsonText
    do {
        let again = try JSONValue.parse(text)
        require(again == value, "re-parsed value differs: \(preview(input)) -> \(text.debugDescription)")
        require(again.jsonText == text, "re-encoding is not stable: \(text.debugDescription)")
    } catch {
        // Escaping may make the text longer than a cap the input was within; never a shorter text.
        require(text.utf8.count > input.count, "encoded value does not parse (\(error)): \(text.debugDescription)")
    }
    return 0
}
