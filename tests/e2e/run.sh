#!/usr/bin/env bash
# janus.plugin.calls - run the browser tests of the demo page inside a private
# network namespace (Janus never gathers ICE candidates on loopback; see
# tests/integration/README.md and research/network.md).
#
#   tests/e2e/run.sh                      every test (tests/e2e/*.test.js)
#   tests/e2e/run.sh tests/e2e/calls.test.js --test-name-pattern=missed
#
# Makes namespace "calls-e2e-<pid>-<random>" with lo up and a veth pair
# va 10.99.0.1/24 <-> vb 10.99.0.2/24, then runs
#   ip netns exec <ns> node --test --test-reporter=tap --test-concurrency=1 <files>
# Each test file starts Janus and the page through scripts/demo.sh (test mode)
# and Chromium (Debian's /usr/bin/chromium, via playwright-core). However it
# ends, everything left in the namespace is stopped (TERM, then KILL after 5 s)
# and the namespace deleted. Screenshots go to tests/artifacts/e2e/.
#
# Exit code: node's; 2 when it cannot start (not root, no chromium, no node_modules).
#
# Copyright (C) 2026 the janus.plugin.calls authors
# SPDX-License-Identifier: GPL-3.0-or-later
set -u

die() { echo "run.sh: ERROR: $*" >&2; exit 2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
ns="calls-e2e-$$-$RANDOM"

[ "$(id -u)" = 0 ] || die "must run as root: the tests need 'ip netns' (network namespace + veth)"
command -v ip >/dev/null || die "'ip' (iproute2) not found"
command -v node >/dev/null || die "node not found: apt-get install nodejs npm"
[ -x "${CHROMIUM_BIN:-/usr/bin/chromium}" ] || die "Chromium not found: apt-get install chromium (the tests never download a browser)"
[ -d "$here/node_modules/playwright-core" ] ||
	die "playwright-core is missing: (cd tests/e2e && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci)"
[ -f "${CALLS_PLUGIN_SO:-$repo/build/.libs/libjanus_calls.so}" ] ||
	die "the plugin ${CALLS_PLUGIN_SO:-$repo/build/.libs/libjanus_calls.so} is missing: build it, or set CALLS_PLUGIN_SO"

# shellcheck disable=SC2317  # called by the trap
cleanup() {
	trap - EXIT INT TERM
	[ -e "/run/netns/$ns" ] || return 0
	local pids
	# node first: on SIGTERM its after() hooks stop Chromium and demo.sh
	if [ -n "$node_pid" ] && kill -TERM "$node_pid" 2>/dev/null; then
		for _ in $(seq 100); do
			kill -0 "$node_pid" 2>/dev/null || break
			sleep 0.1
		done
	fi
	mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null)
	[ ${#pids[@]} -gt 0 ] && kill -TERM "${pids[@]}" 2>/dev/null
	for _ in $(seq 50); do
		mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null)
		[ ${#pids[@]} -eq 0 ] && break
		sleep 0.1
	done
	if [ ${#pids[@]} -gt 0 ]; then
		echo "run.sh: killing leftover processes: ${pids[*]}" >&2
		kill -KILL "${pids[@]}" 2>/dev/null
		sleep 0.2
	fi
	ip netns del "$ns" || echo "run.sh: ERROR: could not delete namespace $ns" >&2
}
node_pid=
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ip netns add "$ns" || die "'ip netns add $ns' failed"
nsx() { ip netns exec "$ns" "$@" || die "in namespace $ns: '$*' failed"; }
nsx ip link set lo up
nsx ip link add va type veth peer name vb
nsx ip addr add 10.99.0.1/24 dev va
nsx ip addr add 10.99.0.2/24 dev vb
nsx ip link set va up
nsx ip link set vb up

cd "$repo" || die "cannot cd to $repo"
files=() opts=()
for a in "$@"; do
	if [[ "$a" != -* && -e "$a" ]]; then files+=("$a"); else opts+=("$a"); fi
done
if [ ${#files[@]} -eq 0 ]; then
	for f in "$here"/*.test.js; do files+=("$f"); done
fi
mkdir -p "$repo/tests/artifacts/e2e"

echo "run.sh: namespace $ns: node --test ${files[*]}" >&2
# In the background so that INT/TERM reach the trap at once
ip netns exec "$ns" node --test --test-reporter=tap --test-concurrency=1 --test-timeout=600000 \
	"${opts[@]}" "${files[@]}" &
node_pid=$!
wait $node_pid
exit $?
