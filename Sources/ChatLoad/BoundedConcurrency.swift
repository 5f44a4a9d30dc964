/// Runs an async body for each index with at most `limit` running at once.
public enum BoundedConcurrency {
    /// Calls `body(i)` for `i` in `0..<count`, `limit` at a time, and returns the results in index order.
    public static func map<T: Sendable>(
        count: Int,
        limit: Int,
        _ body: @escaping @Sendable (Int) async throws -> T
    ) async throws -> [T] {
        var results = [T?](repeating: nil, count: count)
        try await withThrowingTaskGroup(of: (Int, T).self) { group in
            var next = 0
            while next < min(limit, count) {
                let i = next
                group.addTask { (i, try await body(i)) }
                next += 1
            }
            while let (i, value) = try await group.next() {
                results[i] = value
                if next < count {
                    let j = next
                    group.addTask { (j, try await body(j)) }
                    next += 1
                }
            }
        }
        return results.compactMap { $0 }
    }
}
