#!/usr/bin/env bash
# janus.plugin.calls - run every benchmark and print their figures:
#
#   1. signaling (bench/signaling.py): call set-ups/tear-downs per second, ring
#      latency, memory per live call - in a private network namespace;
#   2. history store (bench/store_bench.c, built here with gcc): fill, history
#      queries, saves, open - on STORE_CALLS calls (default 100000);
#   3. media (bench/media/run.py): janus.plugin.calls vs VideoRoom in one Janus,
#      4- and 8-party calls, CPU per forwarded packet and the calls/videoroom
#      ratios - in a private network namespace;
#   4. join storm (bench/storm.py): a synchronous route's latency before, during
#      and after 16 people join one call, with a late STUN server configured.
#
#   sudo bench/run.sh [--quick] [signaling|store|media|storm ...]
#
# --quick shortens every run (for trying the tooling, not for figures). Naming
# benchmarks runs only those. Environment: CALLS_PLUGIN_SO (the plugin to load,
# default build/.libs/libjanus_calls.so), STORE_CALLS, SIGNALING_ARGS,
# MEDIA_ARGS, STORM_ARGS (extra arguments, e.g. MEDIA_ARGS="--rounds 4"), BENCH_OUT (where
# the full outputs and the Janus work folders go, default a new
# /tmp/calls-bench.XXXXXX).
# Needs root (network namespaces), gcc, pkg-config, Debian's janus, python3-aiortc.
# Every run is bounded; Ctrl-C stops the one running and what it started.
#
# Copyright (C) 2026 the janus.plugin.calls authors
# SPDX-License-Identifier: GPL-3.0-or-later
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
die() { echo "bench/run.sh: $*" >&2; exit 2; }

quick=0
which=()
for a in "$@"; do
    case "$a" in
        --quick) quick=1 ;;
        signaling|store|media|storm) which+=("$a") ;;
        -h|--help) sed -n '2,/^# Copyright/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$a' (see --help)" ;;
    esac
done
[ ${#which[@]} -gt 0 ] || which=(signaling store media storm)

[ "$(id -u)" = 0 ] || die "must run as root: the signaling and media benchmarks need a network namespace"
export CALLS_PLUGIN_SO="${CALLS_PLUGIN_SO:-$repo/build/.libs/libjanus_calls.so}"
case " ${which[*]} " in
    *" signaling "*|*" media "*|*" storm "*) [ -f "$CALLS_PLUGIN_SO" ] || die "no plugin at $CALLS_PLUGIN_SO: build it, or set CALLS_PLUGIN_SO" ;;
esac
out="${BENCH_OUT:-$(mktemp -d /tmp/calls-bench.XXXXXX)}"
mkdir -p "$out/tmp" || die "cannot create $out"
# the benchmarks' Janus work folders (config, log) go there too, not loose in /tmp
export TMPDIR="$out/tmp"

if [ $quick = 1 ]; then
    store_calls="${STORE_CALLS:-20000}"
    read -r -a sig_args <<< "${SIGNALING_ARGS:---pairs 20 --seconds 5 --live 200}"
    read -r -a media_args <<< "${MEDIA_ARGS:---seconds 8 --warmup 3 --rounds 1}"
    read -r -a storm_args <<< "${STORM_ARGS:---people 6 --rounds 1 --quiet 1}"
else
    store_calls="${STORE_CALLS:-100000}"
    read -r -a sig_args <<< "${SIGNALING_ARGS:-}"
    read -r -a media_args <<< "${MEDIA_ARGS:-}"
    read -r -a storm_args <<< "${STORM_ARGS:-}"
fi

child=
# shellcheck disable=SC2317  # called by the traps
stop_child() {
    if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
        kill -TERM "$child" 2>/dev/null
        for _ in $(seq 150); do kill -0 "$child" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$child" 2>/dev/null
    fi
}
trap 'stop_child; exit 130' INT
trap 'stop_child; exit 143' TERM

# run NAME LIMIT_S CMD...: in the background (so Ctrl-C reaches the trap at once),
# bounded by `timeout`, output shown and kept in $out/NAME.txt
run() {
    local name=$1 limit=$2
    shift 2
    echo
    echo "===== $name: $*"
    timeout --signal=TERM --kill-after=30 "$limit" "$@" > >(trap '' INT; exec tee "$out/$name.txt") 2>&1 &
    child=$!
    wait "$child"
    local rc=$?
    child=
    [ $rc = 0 ] || echo "===== $name: FAILED (exit code $rc), see $out/$name.txt"
    return $rc
}

echo "bench/run.sh: plugin $CALLS_PLUGIN_SO; outputs in $out; load average $(cut -d' ' -f1-3 /proc/loadavg)"
failed=0
for b in "${which[@]}"; do
    case $b in
        signaling)
            run signaling 900 "$repo/scripts/netns.sh" /usr/bin/python3 "$repo/bench/signaling.py" "${sig_args[@]}" || failed=1 ;;
        store)
            # shellcheck disable=SC2046  # pkg-config output is meant to split
            gcc -std=c11 -D_GNU_SOURCE -O2 -I"$repo/plugin" $(pkg-config --cflags glib-2.0 jansson sqlite3) \
                "$repo/plugin/store.c" "$repo/bench/store_bench.c" -o "$out/store_bench" \
                $(pkg-config --libs glib-2.0 jansson sqlite3) || die "building bench/store_bench.c failed"
            run store 1800 "$out/store_bench" "$out/store-bench.db" "$store_calls" || failed=1
            rm -f "$out/store-bench.db" "$out/store-bench.db-wal" "$out/store-bench.db-shm" ;;
        media)
            run media 3600 "$repo/scripts/netns.sh" /usr/bin/python3 "$repo/bench/media/run.py" "${media_args[@]}" || failed=1 ;;
        storm)
            run storm 900 "$repo/scripts/netns.sh" /usr/bin/python3 "$repo/bench/storm.py" "${storm_args[@]}" || failed=1 ;;
    esac
done

echo
echo "===== summary (full outputs in $out)"
if [ -f "$out/signaling.txt" ]; then
    echo "signaling:"
    grep -E "set-up \+ tear-down|Janus CPU .* per call|ring latency|memory:" "$out/signaling.txt" | sed 's/^ */  /'
fi
if [ -f "$out/store.txt" ]; then
    echo "store ($store_calls calls):"
    awk '/in the store:/ || /saves\/s/ || /calls_store_open/ { sub(/^ */, "  "); print }
         /users picked at random/ { who = "random users" } /the heavy user/ { who = "heavy user" }
         /^(first|last) page \(limit 10\)/ { print "  " who ": " $0 }' "$out/store.txt"
fi
if [ -f "$out/media.txt" ]; then
    echo "media (calls vs videoroom):"
    grep -E "^--- [0-9]+ parties|^Janus CPU per forwarded|^forwarded packets/s|^receiver loss|^Janus RSS at end|^answer -> first RTP|^load generator CPU|WARNING|calls/videoroom =" \
        "$out/media.txt" | sed 's/^/  /'
fi
if [ -f "$out/storm.txt" ]; then
    echo "join storm (GET /calls/active latency):"
    grep -E "^  (STUN|storm|Janus CPU)|^    (GET|control)|^      (before|during|after) |^  goal:" "$out/storm.txt" | sed 's/^ */  /'
fi
exit $failed
