#!/usr/bin/env bash
# janus.plugin.calls - run a command inside a private network namespace.
#
#   scripts/netns.sh COMMAND [ARGS...]
#   CALLS_NETNS_PREFIX=calls-it scripts/netns.sh ...   (name prefix, default "calls")
#
# Janus never gathers ICE candidates on loopback (with `-E lo` libnice falls
# back to every other interface and advertises the machine's real addresses),
# so everything that carries media runs in a namespace of its own: `lo` up and a
# veth pair va (10.99.0.1/24) - vb (10.99.0.2/24). Janus is told to gather on
# `va`; clients in the same namespace reach it on 127.0.0.1. No packet leaves
# the namespace. The namespace is unique per run ("<prefix>-<pid>-<random>").
#
# However it ends (normally, failure, Ctrl-C, SIGTERM), the command is asked
# to stop first (SIGTERM, 10 s: test runners stop what they started), then
# every process left in the namespace (SIGTERM, then SIGKILL after 5 s), and
# the namespace is deleted.
#
# Exit code: the command's; 2 when the namespace cannot be made (not root, no
# iproute2); 130/143 on INT/TERM.
# SPDX-License-Identifier: GPL-3.0-or-later
set -u

die() { echo "netns.sh: ERROR: $*" >&2; exit 2; }
[ $# -gt 0 ] || die "usage: scripts/netns.sh COMMAND [ARGS...]"
[ "$(id -u)" = 0 ] || die "network namespaces need root: run with sudo"
command -v ip >/dev/null || die "'ip' (iproute2) not found: apt-get install iproute2"
ns="${CALLS_NETNS_PREFIX:-calls}-$$-$RANDOM"

# Wait until `test` fails, at most N tenths of a second.
wait_while() {  # tenths command...
	local n=$1; shift
	for _ in $(seq "$n"); do "$@" || return 0; sleep 0.1; done
	return 1
}
ns_busy() { [ -n "$(ip netns pids "$ns" 2>/dev/null)" ]; }

# shellcheck disable=SC2317  # called by the trap
cleanup() {
	trap - EXIT INT TERM
	[ -e "/run/netns/$ns" ] || return 0
	if [ -n "$main_pid" ] && kill -TERM "$main_pid" 2>/dev/null; then
		wait_while 100 kill -0 "$main_pid" 2>/dev/null
	fi
	local pids
	pids=$(ip netns pids "$ns" 2>/dev/null)
	if [ -n "$pids" ]; then
		kill -TERM $pids 2>/dev/null
		if ! wait_while 50 ns_busy; then
			pids=$(ip netns pids "$ns" 2>/dev/null)
			echo "netns.sh: killing leftover processes: $pids" >&2
			kill -KILL $pids 2>/dev/null
			sleep 0.2
		fi
	fi
	ip netns del "$ns" || echo "netns.sh: ERROR: could not delete namespace $ns" >&2
}
main_pid=
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

echo "netns.sh: namespace $ns: $*" >&2
# In the background, so that INT/TERM reach the trap at once (bash defers traps
# while a foreground child runs); cleanup then stops the command and the rest.
ip netns exec "$ns" "$@" &
main_pid=$!
wait "$main_pid"
exit $?
