/// A room's messages as a join ack's `history` array holds them, each encoded once
/// (``ServerEventEncoder/writeMessageObject(_:room:seq:name:text:timestamp:via:)``), oldest first and
/// separated by commas in one buffer: an ack copies its newest ones as one slice
/// (``ServerEventEncoder/joinAck(room:seq:members:count:encodedHistory:newest:complete:byteBudget:)``)
/// instead of encoding each message again. Messages join at the back and leave from the front.
public struct EncodedHistory: Sendable {
    /// The objects, comma-separated; bytes before the oldest kept object are dead until compacted.
    private var buffer: [UInt8] = []
    /// Where each object starts in `buffer`, and its seq; the kept ones from `head` on.
    private var starts: [Int] = []
    private var seqs: [UInt64] = []
    private var head = 0

    /// An empty history.
    public init() {}

    /// The messages kept.
    public var count: Int { starts.count - head }

    /// The seq of the oldest message kept.
    public var firstSeq: UInt64? { count > 0 ? seqs[head] : nil }

    /// The seq of the newest message kept.
    public var lastSeq: UInt64? { count > 0 ? seqs[seqs.count - 1] : nil }

    /// The memory it holds: the buffer (dead bytes and spare capacity included) and the positions.
    public var storedBytes: Int { buffer.capacity + (starts.capacity + seqs.capacity) * 8 }

    /// Encodes `message` of `room` as the newest object.
    public mutating func append(_ message: some ClientVisibleMessage, room: String) {
        if count > 0 { buffer.append(ASCII.comma) }
        starts.append(buffer.count)
        seqs.append(message.seq)
        buffer.append(contentsOf: ServerEventEncoder.messageObject(message, room: room))
    }

    /// Drops the oldest object; its bytes are released once the dead ones outweigh the kept ones.
    public mutating func removeFirst() {
        guard count > 0 else { return }
        head += 1
        if count == 0 {
            buffer.removeAll(keepingCapacity: true)
            starts.removeAll(keepingCapacity: true)
            seqs.removeAll(keepingCapacity: true)
            head = 0
        } else if starts[head] > buffer.count / 2 {
            let dead = starts[head]
            buffer.removeSubrange(0..<dead)
            starts.removeSubrange(0..<head)
            seqs.removeSubrange(0..<head)
            for index in starts.indices { starts[index] -= dead }
            head = 0
        }
    }

    /// Of the newest `newest` objects, the newest ones whose bytes, plus one per object, fit in
    /// `budget` (as the ack's loop counts them): how many, and their comma-separated bytes.
    func newest(_ newest: Int, fittingIn budget: Int) -> (count: Int, json: ArraySlice<UInt8>) {
        let wanted = min(max(newest, 0), count)
        // The objects from offset `first` on take `buffer.count - start + 1` bytes with their commas
        // counted one each: the fewer objects, the smaller, so the cut is found by a binary search.
        var low = count - wanted
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if buffer.count - starts[head + middle] + 1 <= budget { high = middle } else { low = middle + 1 }
        }
        guard low < count else { return (0, []) }
        return (count - low, buffer[starts[head + low]...])
    }
}
