#!/usr/bin/env bash
# Run the integration tests inside a private network namespace (see README.md).
#
#   tests/integration/run.sh [pytest args...]      e.g. -x -k echotest
#
# Runs /usr/bin/python3 -m pytest <args> tests/integration through
# scripts/netns.sh: in namespace "calls-it-<pid>-<random>" with lo up and a
# veth pair va 10.99.0.1/24 <-> vb 10.99.0.2/24; however it ends, pytest is
# stopped first (its fixtures stop Janus), then everything left, and the
# namespace is deleted.
# Exit code: pytest's; 2 when it cannot start (not root, no namespace); 130/143 on INT/TERM.
set -u

die() { echo "run.sh: ERROR: $*" >&2; exit 2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

[ "$(id -u)" = 0 ] || die "must run as root: the tests need 'ip netns' (network namespace + veth)"
/usr/bin/python3 -c 'import pytest, pytest_asyncio, aiortc, websockets' 2>/dev/null ||
    die "missing Python modules for /usr/bin/python3; install: apt-get install -y python3-pytest python3-pytest-asyncio python3-aiortc python3-websockets"

# Pass the arguments through; add tests/integration unless a test path (relative
# to the repository, or absolute) is given.
cd "$repo" || die "cannot cd to $repo"
args=("$@")
has_path=0
for a in "$@"; do
    [[ "$a" != -* && -e "${a%%::*}" ]] && has_path=1
done
[ "$has_path" = 1 ] || args+=(tests/integration)

CALLS_NETNS_PREFIX=calls-it exec "$repo/scripts/netns.sh" /usr/bin/python3 -m pytest "${args[@]}"
