// HTTP API request decoding (ChatAPI): the input is split at the first seven newlines into method,
// path (with an optional ?query), Content-Type, Origin, Authorization, Forwarded and
// X-Forwarded-For (an empty field is an absent header); the rest is the body.
// Invariants: a refusal has a known status and a bounded message; a decoded request's fields pass
// the field validator again unchanged; the client address taken from proxy headers is either the
// peer or an address the headers named; nothing crashes.
import ChatAPI
import ChatWire

private let proxies = TrustedProxies([AddressRange("127.0.0.0/8"), AddressRange("::1/128")].compactMap { $0 })
private let peer = ClientAddress("127.0.0.1")!

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPAPI(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    var fields: [String] = []
    var rest = input[...]
    while fields.count < 7, let newline = rest.firstIndex(of: UInt8(ascii: "\n")) {
        fields.append(String(decoding: rest[..<newline], as: UTF8.self))
        rest = rest[rest.index(after: newline)...]
    }
    while fields.count < 7 { fields.append("") }
    let header = { (index: Int) -> String? in fields[index].isEmpty ? nil : fields[index] }
    let target = fields[1].split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
    let path = target.first.map(String.init) ?? ""
    let query = target.count > 1 ? String(target[1]) : ""

    do {
        let request = try APIRequestDecoder.decode(
            method: fields[0],
            path: path,
            query: query,
            contentType: header(2),
            origin: header(3),
            authorization: header(4),
            body: rest,
            isAllowedOrigin: { $0 == "http://127.0.0.1:8080" }
        )
        switch request {
        case .health, .metrics, .status:
            break
        case .listRooms(let page):
            require((1...200).contains(page.limit), "page limit \(page.limit)")
            if let after = page.after {
                require((try? FieldValidator.room(after)) == after, "cursor \(after.debugDescription)")
            }
        case .createRoom(let name, let room, let id):
            require((try? FieldValidator.name(name)) == name, "name \(name.debugDescription)")
            if let room { require((try? FieldValidator.room(room)) == room, "room \(room.debugDescription)") }
            if let id { require(!id.isEmpty && (try? FieldValidator.key(id)) == id, "id \(id.debugDescription)") }
        case .postMessage(let room, let password, let name, let text, let id):
            require((try? FieldValidator.room(room)) == room, "room \(room.debugDescription)")
            require((try? FieldValidator.password(password)) == password, "password")
            require((try? FieldValidator.name(name)) == name, "name \(name.debugDescription)")
            require((try? FieldValidator.text(text)) == text, "text \(preview(Array(text.utf8)))")
            if let id { require(!id.isEmpty && (try? FieldValidator.key(id)) == id, "id \(id.debugDescription)") }
        }
    } catch {
        require(
            [400, 401, 403, 404, 405, 413, 415, 429].contains(error.status),
            "status \(error.status) for \(preview(input))"
        )
        require(
            error.message.utf8.count <= maxErrorMessageBytes,
            "message of \(error.message.utf8.count) bytes for \(preview(input))"
        )
    }

    let forwarded = header(5).map { [$0] } ?? []
    let xForwardedFor = header(6).map { [$0] } ?? []
    let client = proxies.client(peer: peer, forwarded: forwarded, xForwardedFor: xForwardedFor)
    if client != peer {
        require(forwarded.isEmpty == false || xForwardedFor.isEmpty == false, "an address from nowhere")
        require(!client.rateLimitKey.isEmpty && client.rateLimitKey.utf8.count <= 64, "key \(client.rateLimitKey)")
    }
    return 0
}
