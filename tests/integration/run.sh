#!/usr/bin/env bash
# Run the integration tests inside a private network namespace (see README.md).
#
#   tests/integration/run.sh [pytest args...]      e.g. -x -k echotest
#
# Makes namespace "calls-it-<pid>-<random>" with lo up and a veth pair
# va 10.99.0.1/24 <-> vb 10.99.0.2/24, runs
#   ip netns exec <ns> /usr/bin/python3 -m pytest <args> tests/integration
# and, however it ends, stops pytest (SIGTERM, then 10 s), kills every process
# left in the namespace (SIGTERM, then SIGKILL after 5 s) and deletes it.
# Exit code: pytest's; 2 when it cannot start (not root, no namespace); 130/143 on INT/TERM.
set -u

die() { echo "run.sh: ERROR: $*" >&2; exit 2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
ns="calls-it-$$-$RANDOM"

[ "$(id -u)" = 0 ] || die "must run as root: the tests need 'ip netns' (network namespace + veth)"
command -v ip >/dev/null || die "'ip' (iproute2) not found"
/usr/bin/python3 -c 'import pytest, pytest_asyncio, aiortc, websockets' 2>/dev/null ||
    die "missing Python modules for /usr/bin/python3; install: apt-get install -y python3-pytest python3-pytest-asyncio python3-aiortc python3-websockets"

# shellcheck disable=SC2317  # called by the trap
cleanup() {
    trap - EXIT INT TERM
    [ -e "/run/netns/$ns" ] || return 0
    local pids
    # pytest first: on SIGTERM it stops like on Ctrl-C and its fixtures stop Janus.
    if [ -n "$pytest_pid" ] && kill -TERM "$pytest_pid" 2>/dev/null; then
        for _ in $(seq 100); do
            kill -0 "$pytest_pid" 2>/dev/null || break
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
pytest_pid=
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

# Pass the arguments through; add tests/integration unless a test path (relative
# to the repository, or absolute) is given.
cd "$repo" || die "cannot cd to $repo"
args=("$@")
has_path=0
for a in "$@"; do
    [[ "$a" != -* && -e "${a%%::*}" ]] && has_path=1
done
[ "$has_path" = 1 ] || args+=(tests/integration)

echo "run.sh: namespace $ns: pytest ${args[*]}" >&2
# In the background, so INT/TERM reach the trap at once (bash defers traps while
# a foreground child runs); cleanup then stops pytest and all it started.
ip netns exec "$ns" /usr/bin/python3 -m pytest "${args[@]}" &
pytest_pid=$!
wait $pytest_pid
rc=$?
exit $rc
