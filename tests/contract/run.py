#!/usr/bin/env python3
"""The API against its own document: schemathesis 4.32.5 (PyPI) drives the built `plugboard`
binary from `openapi/openapi.json` with every check, positive and negative data, the document's
examples and the stateful phase (following its links), once as a partner (an organization API
key with every scope) and once as a signed-in owner who is also a platform admin, with the
organization and a real provider fixed by `st.toml.in` and two rules no schema can say kept by
`st_hooks.py`. Exits non-zero on any failure, and when fewer than CONTRACT_MIN_CASES cases ran
(if set); prints how many cases ran and how long it took.

Usage: run.py BINARY [MAX_EXAMPLES]
"""

import importlib.metadata
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

BINARY = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/debug/plugboard")
MAX_EXAMPLES = sys.argv[2] if len(sys.argv) > 2 else "10"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMA = os.path.join(ROOT, "openapi", "openapi.json")


# schemathesis's command line, from the interpreter running this file (the pinned version).
ST = "import sys; from schemathesis.cli import schemathesis; sys.argv[0] = 'st'; sys.exit(schemathesis())"
PINNED = "4.32.5"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, token=None, body=None):
    request = urllib.request.Request(base + path, method=method)
    if token:
        request.add_header("authorization", f"Bearer {token}")
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        request.add_header("content-type", "application/json")
    with urllib.request.urlopen(request, data, timeout=30) as response:
        return json.loads(response.read() or b"null")


def start(data_dir):
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PLUGBOARD_BIND": f"127.0.0.1:{port}",
        "PLUGBOARD_DATA_DIR": data_dir,
        "PLUGBOARD_WEB_DIR": os.path.join(data_dir, "no-spa"),
        # Thousands of requests in minutes: the limits are not what this run is about.
        "PLUGBOARD_RATE_LIMIT_ORG_PER_MINUTE": "1000000",
        "PLUGBOARD_RATE_LIMIT_CALLER_PER_MINUTE": "1000000",
        # The owner is a platform admin too, so platform readiness is exercised.
        "PLUGBOARD_ADMIN_EMAILS": "contract@example.com",
        "RUST_LOG": "warn",
    }
    log = open(os.path.join(data_dir, "server.log"), "w")
    server = subprocess.Popen([BINARY, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(base + "/readyz", timeout=1)
            return server, base
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    server.kill()
    sys.exit("the server did not become ready")


def schemathesis(base, token, org, label):
    config = os.path.join(tempfile.mkdtemp(), "st.toml")
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "st.toml.in")) as template:
        with open(config, "w") as f:
            f.write(template.read().replace("ORG_ID", org))
    command = [
        sys.executable, "-c", ST, "--config-file", config, "run", SCHEMA,
        "--url", base,
        "-H", f"Authorization: Bearer {token}",
        "--checks", "all",
        "--mode", "all",
        "--phases", "examples,coverage,fuzzing,stateful",
        "--max-examples", MAX_EXAMPLES,
        "--seed", "1",
        "--request-timeout", "30",
        "--continue-on-failure",
        # The proxy hands the provider whatever headers and body the caller sends, so the
        # negative checks (an undocumented header must be refused) do not apply to it; its
        # rules are held by the Rust suite (crates/api/tests/it/proxy*.rs).
        "--exclude-path-regex", "/proxy/",
    ]
    print(f"==> schemathesis as {label}", flush=True)
    # schemathesis keeps a cache in its working folder: a scratch one, not the checkout.
    here = os.path.dirname(os.path.abspath(__file__))
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "st_hooks", "PYTHONPATH": here}
    run = subprocess.run(command, capture_output=True, text=True, cwd=os.path.dirname(config), env=env)
    print(run.stdout)
    if run.returncode != 0:
        print(run.stderr[-3000:])
    cases = sum(int(n) for n in re.findall(r"(\d+) generated", run.stdout)) or None
    return run.returncode == 0, cases


def main():
    try:
        version = importlib.metadata.version("schemathesis")
    except importlib.metadata.PackageNotFoundError:
        version = None
    if version != PINNED:
        sys.exit(f"schemathesis {PINNED} is needed (found {version}): run this through make, whose .venv has it (tests/requirements.txt)")
    started = time.monotonic()
    data_dir = tempfile.mkdtemp(prefix="plugboard-contract-")
    server, base = start(data_dir)
    try:
        owner = call(base, "POST", "/api/v1/auth/signup",
                     body={"email": "contract@example.com", "password": "correct horse battery", "name": "Contract"})
        org = call(base, "POST", "/api/v1/orgs", owner["access_token"], {"name": "Contract Brand"})["id"]
        key = call(base, "POST", f"/api/v1/orgs/{org}/api-keys", owner["access_token"],
                   {"name": "Contract", "scopes": ["integrations:read", "integrations:write", "members:read"]})["secret"]
        partner_ok, partner_cases = schemathesis(base, key, org, "a partner (API key)")
        # Access tokens last 15 minutes: a fresh one for the second run.
        token = call(base, "POST", "/api/v1/auth/login", body={"email": "contract@example.com", "password": "correct horse battery"})["access_token"]
        owner_ok, owner_cases = schemathesis(base, token, org, "the owner (access token)")
    finally:
        server.kill()
        server.wait()
    total = (partner_cases or 0) + (owner_cases or 0)
    print(f"cases: partner {partner_cases}, owner {owner_cases}, {total} in all, in {time.monotonic() - started:.0f} s")
    # A run that generated (almost) nothing proves nothing: make test-contract sets a floor.
    floor = int(os.environ.get("CONTRACT_MIN_CASES", "0"))
    enough = total >= floor
    if not enough:
        print(f"FAIL fewer than {floor} cases ran")
    passed = int(partner_ok) + int(owner_ok)
    print(f"{passed} passed, {2 - passed} failed")
    sys.exit(0 if passed == 2 and enough else 1)


if __name__ == "__main__":
    main()
