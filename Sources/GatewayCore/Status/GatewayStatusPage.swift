import ChatWire
import Crypto
import Foundation

/// The HTML of `/status`: a ``GatewayStatusReport`` for a person. Every value it prints is escaped; it
/// has no script, and its one inline style sheet is allowed by hash in ``contentSecurityPolicy`` (nothing
/// else is). It asks the browser to reload it every ``refreshSeconds``.
public enum GatewayStatusPage {
    /// Seconds between reloads.
    public static let refreshSeconds = 5

    /// The page's style sheet (inline; allowed by its hash).
    static let stylesheet = """
        body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1d2330;background:#f6f7f9}
        h1{font-size:1.4rem;margin:0 0 .2rem}h2{font-size:1.05rem;margin:1.6rem 0 .5rem}
        p.sub{color:#5b6475;margin:0 0 1rem}code{font:13px ui-monospace,monospace}
        table{border-collapse:collapse;background:#fff;box-shadow:0 1px 2px #0002;min-width:24rem}
        th,td{text-align:left;padding:.35rem .8rem;border-bottom:1px solid #e4e7ec;vertical-align:top}
        thead th{background:#eef1f5;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
        .state{display:inline-block;padding:0 .5rem;border-radius:.6rem;font-weight:600;font-size:12px}
        .active,.alone{background:#d9f2df;color:#145c2a}.standby{background:#dde8fb;color:#1b4b9a}
        .starting{background:#fdf1d3;color:#7a5200}.unreachable{background:#fbdcdc;color:#8c1d1d}
        .muted{color:#7a8294}
        """

    /// The `Content-Security-Policy` the page is served with: nothing may load but its own style sheet.
    public static let contentSecurityPolicy: String = {
        let hash = SHA256.hash(data: Array(stylesheet.utf8))
        return
            "default-src 'none'; style-src 'sha256-\(Data(hash).base64EncodedString())'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    }()

    /// The page for `report`.
    public static func html(_ report: GatewayStatusReport) -> String {
        var page = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="\(refreshSeconds)">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Status of gateway \(escape(report.gateway.id))</title><style>\(stylesheet)</style></head><body>
            <h1>Gateway <code>\(escape(report.gateway.id))</code></h1>
            <p class="sub">Read-only; reloads every \(refreshSeconds) s. The same data as JSON: <a href="/status.json">/status.json</a></p>

            """
        page += section("This gateway")
        page += table(
            nil,
            [
                ["Connections", number(report.gateway.connections)],
                ["Members here", number(report.gateway.members)],
                ["Rooms with members here", number(report.gateway.roomCount)],
                ["Up for", escape(duration(milliseconds: report.gateway.uptimeSeconds * 1000))],
            ],
            header: true
        )
        if !report.gateway.rooms.isEmpty {
            page += "<h2>Rooms with members here</h2>\n"
            page += table(["Room", "Members here"], report.gateway.rooms.map { [code($0.room), number($0.members)] })
            page += more(shown: report.gateway.rooms.count, of: report.gateway.roomCount, "rooms")
        }
        page += section("Brokers")
        page += table(
            ["Endpoint", "State", "Term", "Rooms", "Members", "Replication", "Last heard"],
            report.brokers.map(row)
        )
        if let serving = report.brokers.first(where: { $0.state == .active || $0.state == .alone }),
            let budgets = serving.budgets
        {
            page += "<h2>Budgets of the active broker</h2>\n"
            page += table(
                ["Budget", "Used", "Limit"],
                budgets.map {
                    [code($0.name.rawValue), number($0.used), $0.limit.map { number($0) } ?? "per room or key"]
                }
            )
        }
        page += section("Gateways the active broker knows")
        if report.gatewayCount == 0 {
            page += "<p class=\"muted\">None known: no active broker answered.</p>\n"
        } else {
            page += table(
                ["Gateway", "Members", "Last heard"],
                report.gateways.map {
                    [code($0.id), number($0.members), escape(duration(milliseconds: $0.silentMs)) + " ago"]
                }
            )
            page += more(shown: report.gateways.count, of: report.gatewayCount, "gateways")
        }
        page += "</body></html>\n"
        return page
    }

    /// `text` with the five characters HTML gives a meaning to replaced by entities.
    public static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// A duration for a person: `120 ms`, `3.4 s`, `12 min`, `2 h 5 min`.
    static func duration(milliseconds: UInt64) -> String {
        switch milliseconds {
        case ..<1_000: return "\(milliseconds) ms"
        case ..<60_000: return "\(milliseconds / 1_000).\(milliseconds % 1_000 / 100) s"
        case ..<3_600_000: return "\(milliseconds / 60_000) min"
        default: return "\(milliseconds / 3_600_000) h \(milliseconds % 3_600_000 / 60_000) min"
        }
    }

    private static let dash = "<span class=\"muted\">–</span>"

    private static func section(_ title: String) -> String {
        "<h2>\(escape(title))</h2>\n"
    }

    private static func code(_ text: String) -> String {
        "<code>\(escape(text))</code>"
    }

    private static func number(_ value: Int) -> String {
        "\(value)"
    }

    /// A table of cells that are already HTML; with `header`, each row's first cell is a row heading.
    private static func table(_ columns: [String]?, _ rows: [[String]], header: Bool = false) -> String {
        var html = "<table>"
        if let columns {
            html += "<thead><tr>" + columns.map { "<th>\(escape($0))</th>" }.joined() + "</tr></thead>"
        }
        html += "<tbody>"
        for row in rows {
            html += "<tr>"
            for (index, cell) in row.enumerated() {
                if header && index == 0 {
                    html += "<th>\(escape(cell))</th>"
                } else {
                    html += cell.first?.isNumber == true ? "<td class=\"n\">\(cell)</td>" : "<td>\(cell)</td>"
                }
            }
            html += "</tr>"
        }
        return html + "</tbody></table>\n"
    }

    /// A broker's cells.
    private static func row(_ broker: GatewayStatusReport.Broker) -> [String] {
        let state: String = "<span class=\"state \(broker.state.rawValue)\">\(broker.state.rawValue)</span>"
        let term: String = broker.term.map { number(Int(clamping: $0)) } ?? dash
        let rooms: String = broker.rooms.map { number($0) } ?? dash
        let members: String = broker.members.map { number($0) } ?? dash
        let heard: String = broker.lastHeardMs.map { escape(duration(milliseconds: $0)) + " ago" } ?? "never"
        return [code(broker.endpoint), state, term, rooms, members, replication(broker.replication), heard]
    }

    private static func more(shown: Int, of total: Int, _ what: String) -> String {
        total > shown ? "<p class=\"muted\">and \(total - shown) more \(what)</p>\n" : ""
    }

    private static func replication(_ replication: BrokerStatusReport.Replication?) -> String {
        guard let replication else { return dash }
        let since = replication.sinceLastMs.map { duration(milliseconds: $0) + " ago" }
        let text = replicationState(replication, since: since)
        switch replication.takeover {
        case .bothWithoutState?, .voteWithoutState?:
            return text + escape(" (took over WITHOUT the state: \(replication.takeover?.rawValue ?? ""))")
        default:
            return text
        }
    }

    private static func replicationState(_ replication: BrokerStatusReport.Replication, since: String?) -> String {
        switch replication.state {
        case .standbyInSync:
            return escape(
                "standby in sync: \(replication.heldOutputs) held, \(replication.unacknowledged) unacknowledged, last ack \(since ?? "never")"
            )
        case .standbySyncing:
            return "standby loading a snapshot"
        case .standbyAbsent:
            return "no standby: acknowledging alone"
        case .fenced:
            return "fenced: standby silent and no quorum of gateways heard; answering not_active"
        case .waitingForSnapshot:
            return "waiting for a snapshot"
        case .loadingSnapshot:
            return "loading a snapshot"
        case .following:
            return escape("following: last update \(since ?? "never")")
        }
    }
}
