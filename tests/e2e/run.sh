#!/usr/bin/env bash
# janus.plugin.calls - run the browser tests of the demo page inside a private
# network namespace (Janus never gathers ICE candidates on loopback; see
# "Why a network namespace" in tests/integration/README.md).
#
#   tests/e2e/run.sh                      every test (tests/e2e/*.test.js)
#   tests/e2e/run.sh tests/e2e/calls.test.js --test-name-pattern=missed
#
# Runs node --test --test-reporter=tap --test-concurrency=1 <files> through
# scripts/netns.sh (namespace "calls-e2e-<pid>-<random>", lo up, a veth pair
# va 10.99.0.1/24 <-> vb 10.99.0.2/24).
# Each test file starts Janus and the page through scripts/demo.sh (test mode)
# and Chromium (Debian's /usr/bin/chromium, via playwright-core). However it
# ends, node is stopped first (its after() hooks stop Chromium and Janus),
# then everything left, and the namespace is deleted. Screenshots go to
# tests/artifacts/e2e/.
#
# Exit code: node's; 2 when it cannot start (not root, no chromium, no node_modules).
#
# Copyright (C) 2026 the janus.plugin.calls authors
# SPDX-License-Identifier: GPL-3.0-or-later
set -u

die() { echo "run.sh: ERROR: $*" >&2; exit 2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

[ "$(id -u)" = 0 ] || die "must run as root: the tests need 'ip netns' (network namespace + veth)"
command -v node >/dev/null || die "node not found: apt-get install nodejs npm"
[ -x "${CHROMIUM_BIN:-/usr/bin/chromium}" ] || die "Chromium not found: apt-get install chromium (the tests never download a browser)"
[ -d "$here/node_modules/playwright-core" ] ||
	die "playwright-core is missing: (cd tests/e2e && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci)"
[ -f "${CALLS_PLUGIN_SO:-$repo/build/.libs/libjanus_calls.so}" ] ||
	die "the plugin ${CALLS_PLUGIN_SO:-$repo/build/.libs/libjanus_calls.so} is missing: build it, or set CALLS_PLUGIN_SO"

cd "$repo" || die "cannot cd to $repo"
files=() opts=()
for a in "$@"; do
	if [[ "$a" != -* && -e "$a" ]]; then files+=("$a"); else opts+=("$a"); fi
done
if [ ${#files[@]} -eq 0 ]; then
	for f in "$here"/*.test.js; do files+=("$f"); done
fi
mkdir -p "$repo/tests/artifacts/e2e"

CALLS_NETNS_PREFIX=calls-e2e exec "$repo/scripts/netns.sh" node --test --test-reporter=tap \
	--test-concurrency=1 --test-timeout=600000 "${opts[@]}" "${files[@]}"
