#!/usr/bin/env bash
# janus.plugin.calls - run a command inside a private network namespace.
#
#   scripts/netns.sh COMMAND [ARGS...]
#
# Janus never gathers ICE candidates on loopback (research/network.md), so
# everything that carries media runs in a namespace of its own: `lo` up and a
# veth pair va (10.99.0.1/24) - vb (10.99.0.2/24). Janus is told to gather on
# `va`; clients in the same namespace reach it on 127.0.0.1. No packet leaves
# the namespace. The namespace is unique per run and deleted on exit, with
# anything still running in it, also after Ctrl-C or a failure.
#
# Needs root. Exit code: the command's.
# SPDX-License-Identifier: GPL-3.0-or-later
set -u
if [ "$(id -u)" != 0 ]; then
	echo "netns.sh: network namespaces need root: run with sudo" >&2
	exit 2
fi
[ $# -gt 0 ] || { echo "usage: scripts/netns.sh COMMAND [ARGS...]" >&2; exit 2; }
NS="calls-$$-$RANDOM"

cleanup() {
	local pids
	pids=$(ip netns pids "$NS" 2>/dev/null)
	if [ -n "$pids" ]; then
		kill -TERM $pids 2>/dev/null
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			sleep 0.5
			pids=$(ip netns pids "$NS" 2>/dev/null)
			[ -z "$pids" ] && break
		done
		[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
	fi
	ip netns del "$NS" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

set -e
ip netns add "$NS"
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" ip link add va type veth peer name vb
ip netns exec "$NS" ip addr add 10.99.0.1/24 dev va
ip netns exec "$NS" ip addr add 10.99.0.2/24 dev vb
ip netns exec "$NS" ip link set va up
ip netns exec "$NS" ip link set vb up
set +e
ip netns exec "$NS" "$@"
