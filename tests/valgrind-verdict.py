#!/usr/bin/python3
"""Read valgrind logs of Janus runs and judge the plugin.

    tests/valgrind-verdict.py LOG...

A record (an error, or a leak of kind "definitely"/"indirectly lost") counts
against the plugin when its stack goes through libjanus_calls.so; the others
belong to Janus's core or its libraries (e.g. Janus 1.1.2 sometimes leaves the
handles of sessions destroyed just before it stops) and are reported only.
Prints one line per log; exit code 1 when a log holds a record of the plugin.

SPDX-License-Identifier: GPL-3.0-or-later
"""

import re
import sys

RECORD_START = re.compile(r"^==\d+== (Invalid |Conditional jump|Use of uninitialised|Syscall param|"
                          r"Mismatched free|.* are (definitely|indirectly) lost in loss record)")


def records(path):
    """Each record: its lines, from its first line to the blank line after it."""
    current = None
    for line in open(path, errors="replace"):
        body = re.sub(r"^==\d+== ?", "", line.rstrip("\n"))
        if RECORD_START.match(line):
            current = [body]
        elif current is not None:
            if body == "":
                yield current
                current = None
            else:
                current.append(body)
    if current:
        yield current


def main(paths):
    bad = 0
    for path in paths:
        ours, core = [], []
        for rec in records(path):
            (ours if any("libjanus_calls" in line for line in rec) else core).append(rec)
        verdict = "plugin clean" if not ours else f"{len(ours)} record(s) in the plugin"
        print(f"{path}: {verdict}; {len(core)} record(s) in Janus's core or libraries (not the plugin's)")
        for rec in ours:
            print("\n".join("    " + line for line in rec[:25]))
        bad += bool(ours)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
