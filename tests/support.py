"""What the end-to-end scripts in this folder share: named checks with a summary, and a free
loopback port."""

import socket
import sys

_results = []


def check(name, condition, detail=""):
    """Records one named check and prints it; `detail` is shown when it fails."""
    condition = bool(condition)
    _results.append(condition)
    print(("ok   " if condition else "FAIL ") + name + ("" if condition else f": {detail}"))


def finish():
    """Prints `N passed, N failed` and exits non-zero on any failure or when nothing was checked."""
    passed = sum(_results)
    failed = len(_results) - passed
    print(f"{passed} passed, {failed} failed")
    sys.exit(0 if _results and not failed else 1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
