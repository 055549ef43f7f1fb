#!/usr/bin/env bash
# janus.plugin.calls - run the browser demo on this machine.
#
#   scripts/demo.sh            (or: make demo)
#
# Builds the plugin if needed (out of tree, in build/), writes a private Janus
# configuration (the plugin in open mode with presence on, the WebSocket
# transport on 127.0.0.1:8188), starts Janus and a static web server for
# html-demo/ (plus Debian's janus.js and adapter.js), prints the page's URL and
# runs until Ctrl-C, which stops everything it started. See docs/demo.md.
#
# Environment (all optional):
#   DEMO_HTTP_PORT=8080        the page: http://localhost:$DEMO_HTTP_PORT/
#   DEMO_WS_PORT=8188          Janus's WebSocket transport (127.0.0.1)
#   DEMO_RING_TIMEOUT=30       seconds a call rings before it is MISSED
#   DEMO_CONNECT_TIMEOUT=30    seconds an accepted call has to get media through
#   DEMO_RECONNECT_GRACE=20    seconds a lost participant is kept for a reconnect
#   DEMO_RECLAIM=20            seconds Janus keeps a session whose WebSocket closed
#   DEMO_ICE_IFACE=            only gather ICE candidates on these interfaces (Janus -E)
#   DEMO_RTP_RANGE=            RTP port range for Janus (-r), e.g. 20000-20999
#   DEMO_ICE_SERVERS=          JSON written into the page's config.iceServers, e.g. '[]'
#   DEMO_DEBUG=false           the page's debug flag (true, false or "verbose")
#   DEMO_DATA_DIR=build/demo   where the call history (SQLite) is kept
#   DEMO_WORKDIR=              where config, web root and logs go (default: a temp dir, removed at exit)
#   DEMO_DEBUG_LEVEL=4         Janus's log level
#   DEMO_TIMEOUT=0             stop by itself after this many seconds (0: run until Ctrl-C)
#   CALLS_PLUGIN_SO=           use this plugin instead of building build/.libs/libjanus_calls.so
#   JANUS_BIN=janus            the Janus executable
#   DEMO_SKIP_DEPS=0           1: do not install missing Debian packages (scripts/deps.sh demo)
#
# Copyright (C) 2026 the janus.plugin.calls authors
# SPDX-License-Identifier: GPL-3.0-or-later
set -euo pipefail

die() { echo "demo.sh: ERROR: $*" >&2; exit 1; }
say() { echo "demo.sh: $*" >&2; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
http_port=${DEMO_HTTP_PORT:-8080}
ws_port=${DEMO_WS_PORT:-8188}
ring_timeout=${DEMO_RING_TIMEOUT:-30}
connect_timeout=${DEMO_CONNECT_TIMEOUT:-30}
reconnect_grace=${DEMO_RECONNECT_GRACE:-20}
reclaim=${DEMO_RECLAIM:-20}
ice_iface=${DEMO_ICE_IFACE:-}
rtp_range=${DEMO_RTP_RANGE:-}
ice_servers=${DEMO_ICE_SERVERS:-}
page_debug=${DEMO_DEBUG:-false}
data_dir=${DEMO_DATA_DIR:-$repo/build/demo}
debug_level=${DEMO_DEBUG_LEVEL:-4}
max_seconds=${DEMO_TIMEOUT:-0}
janus_bin=${JANUS_BIN:-janus}

for n in "$http_port" "$ws_port" "$ring_timeout" "$connect_timeout" "$reconnect_grace" "$reclaim" "$debug_level" "$max_seconds"; do
	[[ "$n" =~ ^[0-9]+$ ]] || die "not a number: '$n' (check the DEMO_* variables)"
done
case "$page_debug" in true|false|verbose) ;; *) die "DEMO_DEBUG must be true, false or verbose";; esac

# ---- What we need ------------------------------------------------------------------
# On Debian, install what is missing (as root; DEMO_SKIP_DEPS=1 to skip)
if [ "${DEMO_SKIP_DEPS:-0}" != 1 ] && command -v dpkg-query >/dev/null; then
	"$repo/scripts/deps.sh" demo || die "installing the packages the demo needs failed (see above)"
fi
command -v "$janus_bin" >/dev/null || die "Janus not found ('$janus_bin'); on Debian: apt-get install janus (or scripts/deps.sh)"
command -v python3 >/dev/null || die "python3 not found (it serves the page)"
js_dir=/usr/share/javascript
janus_js=$js_dir/janus-gateway/janus.js
adapter_js=$js_dir/webrtc-adapter/adapter.js
[ -f "$janus_js" ] || die "$janus_js not found; on Debian: apt-get install libjs-janus-gateway"
[ -f "$adapter_js" ] || die "$adapter_js not found; on Debian: apt-get install libjs-webrtc-adapter"

# Janus's own transports (websockets), next to its plugins folder
janus_libdir=
for d in /usr/lib/*/janus /usr/lib/janus /usr/local/lib/janus /opt/janus/lib/janus; do
	if [ -f "$d/transports/libjanus_websockets.so" ]; then janus_libdir=$d; break; fi
done
[ -n "$janus_libdir" ] || die "Janus's WebSocket transport (libjanus_websockets.so) not found"

# The plugin: given, or built out of tree in build/
if [ -n "${CALLS_PLUGIN_SO:-}" ]; then
	plugin_so=$CALLS_PLUGIN_SO
	[ -f "$plugin_so" ] || die "CALLS_PLUGIN_SO=$plugin_so: no such file"
else
	plugin_so=$repo/build/.libs/libjanus_calls.so
	if [ ! -f "$repo/build/Makefile" ] || [ ! -f "$plugin_so" ] ||
		[ -n "$(find "$repo/plugin" -newer "$plugin_so" -name '*.[ch]' -print -quit)" ]; then
		say "building the plugin in build/ ..."
		(
			cd "$repo"
			[ -x configure ] || ./autogen.sh
			mkdir -p build
			cd build
			[ -f Makefile ] || ../configure -q
			make -j"$(nproc 2>/dev/null || echo 2)" libjanus_calls.la >/dev/null
		) || die "building the plugin failed (run 'make' in build/ to see why; scripts/deps.sh installs what it needs)"
	fi
	[ -f "$plugin_so" ] || die "the build did not produce $plugin_so"
fi

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port_busy "$ws_port" && die "port $ws_port (Janus WebSocket) is in use: set DEMO_WS_PORT"
port_busy "$http_port" && die "port $http_port (the page) is in use: set DEMO_HTTP_PORT"

# ---- A private configuration -----------------------------------------------------------
if [ -n "${DEMO_WORKDIR:-}" ]; then
	work=$DEMO_WORKDIR
	mkdir -p "$work"
	keep_work=1
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/calls-demo.XXXXXX")
	keep_work=0
fi
mkdir -p "$data_dir" || die "cannot create $data_dir"
conf=$work/conf www=$work/www
rm -rf "$conf" "$www" "$work/plugins" "$work/transports"
mkdir -p "$conf" "$www" "$work/plugins" "$work/transports" "$work/empty"
ln -s "$(realpath "$plugin_so")" "$work/plugins/libjanus_calls.so"
ln -s "$janus_libdir/transports/libjanus_websockets.so" "$work/transports/"

jstr() { python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1"; }

cat >"$conf/janus.jcfg" <<EOF
general: {
	configs_folder = $(jstr "$conf")
	plugins_folder = $(jstr "$work/plugins")
	transports_folder = $(jstr "$work/transports")
	events_folder = $(jstr "$work/empty")
	loggers_folder = $(jstr "$work/empty")
	debug_level = $debug_level
	server_name = "calls-demo"
	session_timeout = 60
	reclaim_session_timeout = $reclaim
}
media: {
$( [ -n "$rtp_range" ] && echo "	rtp_port_range = $(jstr "$rtp_range")" )
}
nat: {
	nice_debug = false
$( [ -n "$ice_iface" ] && echo "	ice_enforce_list = $(jstr "$ice_iface")" )
}
events: {
	broadcast = false
}
EOF
cat >"$conf/janus.transport.websockets.jcfg" <<EOF
general: {
	json = "plain"
	ws = true
	ws_port = $ws_port
	ws_ip = "127.0.0.1"
}
admin: {
	admin_ws = false
}
EOF
cat >"$conf/janus.plugin.calls.jcfg" <<EOF
general: {
	auth = "open"
	presence = true
	ring_timeout = $ring_timeout
	connect_timeout = $connect_timeout
	reconnect_grace = $reconnect_grace
	db_path = $(jstr "$data_dir/calls.db")
	events = false
}
EOF

# ---- The web root: html-demo/, Debian's libraries, our config.js --------------------------
for f in "$repo"/html-demo/*; do
	[ "$(basename "$f")" = config.js ] || ln -s "$f" "$www/"
done
ln -s "$janus_js" "$www/janus.js"
ln -s "$adapter_js" "$www/adapter.js"
{
	cat "$repo/html-demo/config.js"
	echo
	echo "/* Appended by scripts/demo.sh */"
	echo "window.CALLS_CONFIG.server = 'ws://' + (location.hostname === 'localhost' ? '127.0.0.1' : location.hostname) + ':$ws_port';"
	echo "window.CALLS_CONFIG.signIn = 'open';"
	echo "window.CALLS_CONFIG.debug = $( [ "$page_debug" = verbose ] && echo "'verbose'" || echo "$page_debug" );"
	[ -n "$ice_servers" ] && echo "window.CALLS_CONFIG.iceServers = $ice_servers;"
} >"$www/config.js"

# ---- Run -----------------------------------------------------------------------------------
janus_pid='' http_pid=''
# shellcheck disable=SC2317  # called by the trap
stop_all() {
	trap - EXIT INT TERM
	local p
	for p in $http_pid $janus_pid; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for _ in $(seq 100); do
		local alive=0
		for p in $http_pid $janus_pid; do
			kill -0 "$p" 2>/dev/null && alive=1
		done
		[ "$alive" = 0 ] && break
		sleep 0.1
	done
	for p in $http_pid $janus_pid; do
		kill -KILL "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	if [ "$keep_work" = 0 ]; then
		rm -rf "$work"
	fi
	say "stopped"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

janus_args=(-F "$conf" -P "$work/plugins" -L "$work/janus.log" -N -o -D -d "$debug_level")
[ -n "$ice_iface" ] && janus_args+=(-E "$ice_iface")
[ -n "$rtp_range" ] && janus_args+=(-r "$rtp_range")
"$janus_bin" "${janus_args[@]}" </dev/null >"$work/janus.stderr" 2>&1 &
janus_pid=$!

python3 -m http.server "$http_port" --bind 127.0.0.1 --directory "$www" </dev/null >"$work/http.log" 2>&1 &
http_pid=$!

ready=0
for _ in $(seq 150); do
	kill -0 "$janus_pid" 2>/dev/null || break
	if port_busy "$ws_port" && port_busy "$http_port"; then ready=1; break; fi
	sleep 0.1
done
if [ "$ready" != 1 ]; then
	echo "demo.sh: ERROR: Janus or the web server did not start; the end of Janus's log:" >&2
	tail -n 30 "$work/janus.log" "$work/janus.stderr" "$work/http.log" 2>/dev/null >&2 || true
	exit 1
fi

cat <<EOF

  janus.plugin.calls demo is running.

    Open   http://localhost:$http_port/   in two or more browser windows,
    sign in with different names, and call each other.

    Janus WebSocket  ws://127.0.0.1:$ws_port   (open mode, presence on, ring timeout ${ring_timeout} s)
    Janus log        $work/janus.log
    Call history     $data_dir/calls.db

  Ctrl-C stops Janus and the web server.

EOF
echo "DEMO_READY http://localhost:$http_port/"

# Until Ctrl-C, one of them dies, or DEMO_TIMEOUT passes
started=$SECONDS
while kill -0 "$janus_pid" 2>/dev/null && kill -0 "$http_pid" 2>/dev/null; do
	if [ "$max_seconds" -gt 0 ] && [ $((SECONDS - started)) -ge "$max_seconds" ]; then
		say "DEMO_TIMEOUT ($max_seconds s) reached"
		exit 0
	fi
	sleep 1 &
	wait $! || true
done
if ! kill -0 "$janus_pid" 2>/dev/null; then
	echo "demo.sh: ERROR: Janus exited; the end of its log:" >&2
	tail -n 30 "$work/janus.log" "$work/janus.stderr" 2>/dev/null >&2 || true
	exit 1
fi
say "the web server exited"
exit 1
