/// How the gateway's read-only status page is asked for: `/status` (HTML) or `/status.json`.
public enum StatusFormat: Sendable, Equatable {
    /// `GET /status`: a page for a person (no script).
    case html
    /// `GET /status.json`: the same data for programs.
    case json
}
