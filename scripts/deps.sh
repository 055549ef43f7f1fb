#!/usr/bin/env bash
# janus.plugin.calls - install what building, the demo and the tests need on
# Debian 12 (run as root). Idempotent: packages already there are left alone.
#
#   scripts/deps.sh            build + demo + tests
#   scripts/deps.sh demo       building the plugin and running the demo
#   scripts/deps.sh build      only what building the plugin needs
#
# SPDX-License-Identifier: GPL-3.0-or-later
set -euo pipefail
cd "$(dirname "$0")/.."

build_pkgs=(build-essential autoconf automake libtool pkg-config
	janus janus-dev libglib2.0-dev libjansson-dev libsqlite3-dev libjwt-dev)
demo_pkgs=(libjs-janus-gateway libjs-webrtc-adapter python3)
test_pkgs=(iproute2 procps util-linux strace valgrind clang libclang-rt-14-dev
	python3-pytest python3-pytest-asyncio python3-aiortc python3-websockets python3-numpy
	chromium fonts-dejavu-core)

what=${1:-all}
case "$what" in
	build) want=("${build_pkgs[@]}") ;;
	demo) want=("${build_pkgs[@]}" "${demo_pkgs[@]}") ;;
	all) want=("${build_pkgs[@]}" "${demo_pkgs[@]}" "${test_pkgs[@]}") ;;
	*) echo "usage: scripts/deps.sh [all|demo|build]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps.sh: these packages are missing and installing them needs root: ${missing[*]}" >&2
		exit 1
	fi
	echo "deps.sh: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ "$what" = all ]; then
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		echo "deps.sh: installing nodejs and npm"
		apt-get install -y -q --no-install-recommends nodejs npm
	fi
	# Node packages of the browser tests (playwright-core only; Debian's chromium is the browser)
	for dir in tests/e2e tests/integration/browser; do
		if [ -f "$dir/package-lock.json" ] && [ ! -d "$dir/node_modules/playwright-core" ]; then
			echo "deps.sh: npm ci in $dir"
			(cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
		fi
	done
fi
