# scripts/bench --hostile and --hostile-smoke, sourced by scripts/bench once its servers are healthy
# (they run with their production limits in this mode). Uses its variables (bin, out, port, pids,
# broker_pid, standby_pid, gateway_pids, duration, threads, message_bytes, hostile, memory_budget,
# attack_options) and helpers (say, sample_rss, cpu_ticks).
#   run_hostile SPEC   the scenario alone, then under attack; prints both and the verdict
#                      (scripts/lib/hostile_summary.py); returns 1 when a bound is passed

# coprime_addresses MEMBERS: how many source addresses (127.0.0.2 on) the normal clients use: the
# first number from 50 up sharing no factor with MEMBERS, so that each room's creator (client
# room × MEMBERS) comes from another address and no address passes the per-address room limits.
coprime_addresses() {
    local members=$1 n=50 a b t
    while :; do
        a=$n; b=$members
        while [ "$b" -ne 0 ]; do t=$((a % b)); a=$b; b=$t; done
        [ "$a" -eq 1 ] && { echo "$n"; return; }
        n=$((n + 1))
    done
}

# hostile_bench TAG: one ChatBench run of the scenario (h_* variables) from h_addresses source
# addresses; its JSON in $out/TAG.json, the brokers' RSS peaks (KiB: active, standby) in $out/TAG.rss,
# the servers' CPU (cores: broker, gateways) in $out/TAG.cpu, the 1-minute load average before it in
# $out/TAG.load (other work on the machine shows there). Returns ChatBench's status.
hostile_bench() {
    local tag=$1 status=0 started pid broker0 gateways0=0 broker1 gateways1=0
    rm -f "$out/$tag.json"
    echo "0 0 0" >"$out/$tag.rss"
    cut -d' ' -f1 /proc/loadavg >"$out/$tag.load"
    started=$(date +%s.%N)
    broker0=$(cpu_ticks "$broker_pid")
    for pid in "${gateway_pids[@]}"; do gateways0=$((gateways0 + $(cpu_ticks "$pid"))); done
    "$bin/ChatBench" --host 127.0.0.1 --port "$port" --rooms "$h_rooms" --members "$h_members" --rate "$h_rate" \
        --duration "$h_seconds" --message-bytes "$message_bytes" --threads "$threads" \
        --source-addresses "$h_addresses" --label "$tag" --json "$out/$tag.json" &
    local bench=$!
    pids+=("$bench")  # stopped with the servers if this script is
    sample_rss "$out/$tag.rss" "$bench" "$broker_pid" ${standby_pid:-} &
    local sampler=$!
    wait "$bench" || status=$?
    wait "$sampler" 2>/dev/null || true
    broker1=$(cpu_ticks "$broker_pid")
    for pid in "${gateway_pids[@]}"; do gateways1=$((gateways1 + $(cpu_ticks "$pid"))); done
    awk -v b=$((broker1 - broker0)) -v g=$((gateways1 - gateways0)) -v h="$ticks_per_second" \
        -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f %.2f\n", b / h / (e - s), g / h / (e - s) }' \
        >"$out/$tag.cpu"
    return "$status"
}

# servers_alive WHEN: 0 if every server process still runs, else says which died.
servers_alive() {
    local pid
    for pid in "$broker_pid" ${standby_pid:-} "${gateway_pids[@]}"; do
        kill -0 "$pid" 2>/dev/null || { echo "server process $pid died $1; see $out/*.log" >&2; return 1; }
    done
}

run_hostile() {
    local spec=$1 label smoke=false baseline_status=0 attacked_status=0 attack_status=0 alive=true
    IFS=: read -r label h_rooms h_members h_rate h_seconds <<<"$spec"
    h_seconds=${h_seconds:-$duration}
    h_addresses=$(coprime_addresses "$h_members")
    local defaults=()
    if [ "$hostile" = smoke ]; then
        smoke=true
        defaults=(--ghost-rate 5 --ghost-rooms 1 --join-cycle-rate 2 --history-rooms 1 --history-messages 8
                  --join-cyclers 2 --ping-rate 40 --junk-rate 10 --flood-connections 2 --create-rate 2 --addresses 20)
    fi

    say "Hostile $label, 1 of 2: baseline, $h_rooms room(s) × $h_members members at $h_rate msg/s for $h_seconds s, no attacker (normal clients from 127.0.0.2-$((1 + h_addresses)))"
    hostile_bench "$label-baseline" || baseline_status=$?
    servers_alive "during the baseline" || alive=false

    attack_pid=""
    if $alive; then
        say "Hostile $label, 2 of 2: starting ChatAttack (rooms and full histories first; log $out/attack.log)"
        rm -f "$out/attack.ready" "$out/attack.json"
        "$bin/ChatAttack" --host 127.0.0.1 --port "$port" --ready-file "$out/attack.ready" --json "$out/attack.json" \
            ${defaults[@]+"${defaults[@]}"} ${attack_options[@]+"${attack_options[@]}"} > >(tee "$out/attack.log") 2>&1 &
        attack_pid=$!
        pids+=("$attack_pid")
        for _ in $(seq 1200); do
            [ -f "$out/attack.ready" ] && break
            kill -0 "$attack_pid" 2>/dev/null || break
            sleep 0.1
        done
        if [ -f "$out/attack.ready" ]; then
            say "Hostile $label, 2 of 2: the same scenario while ChatAttack runs"
            hostile_bench "$label-attacked" || attacked_status=$?
            servers_alive "under attack" || alive=false
            say "Stopping ChatAttack (SIGINT: it closes its connections and prints what it did)"
            kill -INT "$attack_pid" 2>/dev/null || true
            for _ in $(seq 300); do kill -0 "$attack_pid" 2>/dev/null || break; sleep 0.1; done
        else
            echo "ChatAttack did not get ready (its preparation failed or took over 120 s); see $out/attack.log" >&2
        fi
        kill -KILL "$attack_pid" 2>/dev/null || true
        wait "$attack_pid" || attack_status=$?
        if [ ! -s "$out/attack.json" ] && [ "$attack_status" -eq 0 ]; then attack_status=1; fi
    fi

    say "Hostile summary: $label, $h_rooms × $h_members at $h_rate msg/s for $h_seconds s; $( [ -n "${standby_pid:-}" ] && echo 'broker pair' || echo 'one broker'), ${#gateway_pids[@]} gateway(s), production limits; $(nproc) cores shared by the servers, ChatBench and ChatAttack"
    python3 scripts/lib/hostile_summary.py --out "$out" --label "$label" --memory-budget "$memory_budget" \
        --baseline-status "$baseline_status" --attacked-status "$attacked_status" --attack-status "$attack_status" \
        --servers-alive "$alive" $($smoke && echo --smoke)
}
