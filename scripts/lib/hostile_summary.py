#!/usr/bin/env python3
"""The verdict of scripts/bench --hostile: reads the baseline's and the attacked run's ChatBench JSON,
the brokers' RSS peaks and the servers' CPU (bench-output/LABEL-{baseline,attacked}.{json,rss,cpu}) and
ChatAttack's report (bench-output/attack.json), prints one table, and exits 1 when a bound is passed:

- p99: the attacked run's p99 at most max(2 x baseline p99, baseline p99 + 5 ms) (not with --smoke);
- loss: no delivery lost and no message refused, gap, reordering or disconnect among the normal clients;
- memory: each broker's RSS peak at most its --memory-budget (not with --smoke);
- crashes: every server alive, ChatBench and ChatAttack finished with a report.
"""
import argparse
import json
import os
import sys

P99_FACTOR = 2.0
P99_FLOOR_MS = 5.0


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def peaks(path):
    """(active broker, standby broker) RSS peaks in MiB from a sample_rss file."""
    try:
        with open(path) as f:
            active, standby, _ = (int(v) for v in f.read().split())
        return active / 1024, standby / 1024
    except (OSError, ValueError):
        return 0.0, 0.0


def words(path, count):
    """The white-space separated words of a small file, or count question marks."""
    try:
        with open(path) as f:
            return f.read().split()
    except OSError:
        return ["?"] * count


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--label", required=True)
    parser.add_argument("--memory-budget", type=int, required=True)
    parser.add_argument("--baseline-status", type=int, required=True)
    parser.add_argument("--attacked-status", type=int, required=True)
    parser.add_argument("--attack-status", type=int, required=True)
    parser.add_argument("--servers-alive", choices=["true", "false"], required=True)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    runs = {name: os.path.join(args.out, f"{args.label}-{name}") for name in ("baseline", "attacked")}
    base, hit = (load(runs[name] + ".json") for name in ("baseline", "attacked"))
    attack = load(os.path.join(args.out, "attack.json"))
    failures = []
    if args.servers_alive != "true":
        failures.append("a server process died")
    for name, summary, status in (("baseline", base, args.baseline_status), ("attacked", hit, args.attacked_status)):
        if summary is None:
            failures.append(f"ChatBench wrote no summary for the {name} run (exit {status})")
    if attack is None or args.attack_status != 0:
        failures.append(f"ChatAttack did not finish with a report (exit {args.attack_status}; see {args.out}/attack.log)")

    def field(summary, key, fmt="{:,}"):
        return fmt.format(summary[key]) if summary is not None else "-"

    rows = [("", "baseline", "attacked", "bound", "verdict")]
    if base is not None and hit is not None:
        b99, a99 = base["latencyP99Ms"], hit["latencyP99Ms"]
        bound = max(P99_FACTOR * b99, b99 + P99_FLOOR_MS)
        p99_ok = a99 <= bound
        ratio = a99 / b99 if b99 > 0 else float("inf")
        rows.append(("p50 ms", f"{base['latencyP50Ms']:.2f}", f"{hit['latencyP50Ms']:.2f}", "", ""))
        rows.append((
            "p99 ms", f"{b99:.2f}", f"{a99:.2f} (x{ratio:.1f})",
            f"<= {bound:.2f} = max(2 x base, base + 5 ms)",
            ("OK" if p99_ok else "over") + (" (smoke: not judged)" if args.smoke else ""),
        ))
        if not p99_ok and not args.smoke:
            failures.append(f"attacked p99 {a99:.2f} ms is over {bound:.2f} ms")
        rows.append(("max ms", f"{base['latencyMaxMs']:.2f}", f"{hit['latencyMaxMs']:.2f}", "", ""))
    for name, summary in (("baseline", base), ("attacked", hit)):
        if summary is not None and not summary["ok"]:
            failures.append(
                f"{name}: lost {summary['lost']}, refused {summary['ackErrors']}, gaps {summary['gaps']}, "
                f"out of order {summary['outOfOrder']}, disconnects {summary['disconnects']}"
                + (f" (first refusal {summary['firstAckError']})" if summary.get("firstAckError") else "")
                + (f" (first close {summary['firstCloseReason']})" if summary.get("firstCloseReason") else ""))
    lost_ok = all(s is not None and s["ok"] for s in (base, hit))
    rows.append(("delivered", field(base, "delivered"), field(hit, "delivered"), "", ""))
    rows.append(("lost deliveries", field(base, "lost"), field(hit, "lost"), "0", "OK" if lost_ok else "FAIL"))
    rows.append(("refused / gaps / disconnects",
                 "-" if base is None else f"{base['ackErrors']} / {base['gaps']} / {base['disconnects']}",
                 "-" if hit is None else f"{hit['ackErrors']} / {hit['gaps']} / {hit['disconnects']}", "0", ""))
    b_active, b_standby = peaks(runs["baseline"] + ".rss")
    a_active, a_standby = peaks(runs["attacked"] + ".rss")
    budget = args.memory_budget
    rss_ok = max(b_active, b_standby, a_active, a_standby) <= budget
    rss_verdict = ("OK" if rss_ok else "over") + (" (smoke: not judged)" if args.smoke else "")
    rows.append(("active broker RSS peak MiB", f"{b_active:.0f}", f"{a_active:.0f}",
                 f"<= {budget} (RoomBroker --memory-budget)", rss_verdict))
    if b_standby > 0 or a_standby > 0:
        rows.append(("standby broker RSS peak MiB", f"{b_standby:.0f}", f"{a_standby:.0f}", f"<= {budget}", ""))
    if not rss_ok and not args.smoke:
        failures.append(f"a broker's RSS peak passed its --memory-budget of {budget} MiB")
    b_cpu, a_cpu = words(runs["baseline"] + ".cpu", 2), words(runs["attacked"] + ".cpu", 2)
    rows.append(("CPU cores broker / gateways", f"{b_cpu[0]} / {b_cpu[1]}", f"{a_cpu[0]} / {a_cpu[1]}", "", ""))
    b_load, a_load = words(runs["baseline"] + ".load", 1), words(runs["attacked"] + ".load", 1)
    rows.append(("load average before (1 min)", b_load[0], a_load[0], "",
                 "other work on the machine moves p99: repeat if high"))
    if attack is not None:
        rows.append(("ChatAttack CPU cores", "", f"{attack['cpuSeconds'] / max(attack['seconds'], 0.001):.2f}",
                     "", f"{attack['threads']} thread(s)"))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) if i != 1 and i != 2 else cell.rjust(widths[i])
                        for i, cell in enumerate(row)).rstrip())
    if attack is not None:
        print()
        print("attack       rate/s  attempted  accepted   refused  outcomes")
        for entry in attack["attacks"]:
            outcomes = ", ".join(f"{k} {v:,}" for k, v in sorted(entry["outcomes"].items(), key=lambda kv: -kv[1]))
            print(f"{entry['kind']:<11} {entry['rate']:7.0f} {entry['attempted']:10,} {entry['accepted']:9,} "
                  f"{entry['refused']:9,}  {outcomes}")
    print()
    print(f"JSON: {runs['baseline']}.json, {runs['attacked']}.json, {args.out}/attack.json; "
          f"logs: {args.out}/broker.log, {args.out}/gateway-N.log, {args.out}/attack.log")
    if failures:
        for failure in failures:
            print(f"FAIL: {failure}", file=sys.stderr)
        return 1
    print("OK: " + ("no crash, no loss, no protocol error (smoke run: timings and RSS not judged)" if args.smoke
                    else "attacked p99 within max(2 x baseline, baseline + 5 ms), no loss, brokers within their memory budget"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
