#!/usr/bin/env python3
"""The README's "Partner API" and proxy lines, run as they are written, against the built binary.

Starts `plugboard serve` on the embedded SQLite default in a scratch folder (the provider
sandbox on), makes the account and organization that "The API in five minutes" makes, then
runs the shell block between `<!-- partner-api:begin -->` and `<!-- partner-api:end -->` in
README.md with bash (`set -euo pipefail`, every curl with `--fail-with-body`), so a line that
stops working fails this test. Then checks what the lines printed: every `# → …` line of the
block, the sandbox's consent URL, a history walked page by page that is the whole history
with no event twice, the key's secret in no log line. Prints `N passed, N failed` and exits
non-zero on any failure.

Usage: partner.py BINARY
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from support import check, finish, free_port

BINARY = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/debug/plugboard")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README_BASE = "http://127.0.0.1:8080"




def call(base, method, path, token=None, body=None):
    request = urllib.request.Request(base + path, method=method)
    if token:
        request.add_header("authorization", f"Bearer {token}")
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, data, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def readme_block(name):
    """A block's shell lines, from between its markers."""
    text = open(os.path.join(ROOT, "README.md")).read()
    found = re.search(rf"<!-- {name}:begin -->\s*```sh\n(.*?)```\s*<!-- {name}:end -->", text, re.S)
    if not found:
        sys.exit(f"README.md has no {name} block between its markers")
    return found.group(1)


def start(folder):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLUGBOARD_", "DATABASE_URL"))}
    env.update({
        "PLUGBOARD_BIND": f"127.0.0.1:{port}",
        "PLUGBOARD_SANDBOX": "true",
        "PLUGBOARD_WEB_DIR": os.path.join(folder, "no-spa"),
        "RUST_LOG": "info",
    })
    log = open(os.path.join(folder, "server.log"), "w")
    process = subprocess.Popen([BINARY, "serve"], cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if call(base, "GET", "/healthz")[0] == 200:
                return process, base, log.name
        except OSError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise SystemExit(f"the server did not start; see {log.name}:\n" + open(log.name).read())


def main():
    # The partner lines, then the proxy's, which go on with their variables.
    block = readme_block("partner-api") + readme_block("proxy")
    expected = [line.split("# → ", 1)[1].strip() for line in block.splitlines() if line.startswith("# → ")]
    with tempfile.TemporaryDirectory() as folder:
        process, base, log = start(folder)
        try:
            # What "The API in five minutes" does first: Ann's account and organization.
            status, signup = call(base, "POST", "/api/v1/auth/signup", body={"email": "ann@example.com", "password": "correct horse battery", "name": "Ann"})
            check("sign up as in the five minutes", status == 201, signup)
            status, org = call(base, "POST", "/api/v1/orgs", signup["access_token"], {"name": "Acme"})
            check("create the organization", status == 201, org)

            script = (
                "set -euo pipefail\n"
                # Any HTTP error fails the line that met it, and so the run.
                "curl() { command curl --fail-with-body \"$@\"; }\n"
                "set -x\n"
                + block.replace(README_BASE, base)
            )
            run = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120, cwd=folder)
            out = run.stdout
            check("the README's partner and proxy lines run without an error", run.returncode == 0, f"exit {run.returncode}\n{run.stderr[-4000:]}\n{out[-2000:]}")
            lines = [line.strip() for line in out.splitlines() if line.strip()]
            for line in expected:
                check(f"printed as the README says: {line}", line in lines, out[-2000:])
            check("the integrations of a category are listed", '{"provider":"openai","status":"not_connected"}' in lines, out[:1000])
            check("the repeated check succeeds", '{"ok":true,"status":"connected"}' in lines, out[-2000:])
            check("OAuth start answers the sandbox's consent page for Slack", any(line.startswith(f"{base}/sandbox/slack/") for line in lines), out[-2000:])

            # The page walk printed the whole history, newest first, each event once.
            owner = signup["access_token"]
            status, everything = call(base, "GET", f"/api/v1/orgs/{org['id']}/integrations/openai/events?limit=200", owner)
            whole = [json.dumps({"action": e["action"], "success": e["success"], "message": e["message"]}, separators=(",", ":"), ensure_ascii=False) for e in everything.get("data", [])]
            walked = [line for line in lines if line.startswith('{"action":')]
            check("the history spans more than one page", len(whole) > 1, whole)
            check("walking the pages gives the whole history, in order, with nothing twice", walked == whole, f"walked {walked}\nwhole {whole}")

            # Through the proxy: every ad account once, over more than one page, the products, and
            # no token of the sandbox's (they all start `sbx_`) in anything printed.
            accounts = [line for line in lines if line.startswith("act_")]
            check("the ad accounts were paged through, each once", len(accounts) > 25 and len(set(accounts)) == len(accounts), accounts)
            check("the shop's products were listed", any(re.fullmatch(r'\{"products":[1-9][0-9]*\}', line) for line in lines), out[-1000:])
            check("no provider token reached the caller", "sbx_" not in out and "access_token" not in out, out[-2000:])

            status, keys = call(base, "GET", f"/api/v1/orgs/{org['id']}/api-keys", owner)
            made = [k for k in keys.get("data", []) if k["name"] == "Partner app"]
            check("the key was made with the scopes asked for", len(made) == 1 and made[0]["scopes"] == ["integrations:read", "integrations:write"] and made[0]["last_used_at"], keys)
            secret = re.search(r"\bpb_[A-Za-z0-9_-]{20,}", run.stderr)
            check("the key appears in the trace of the run", secret, run.stderr[-1000:])
            logged = open(log).read()
            check("the key is in no log line", not secret or secret.group(0) not in logged)
            check("the provider key is in no log line", "sk-partner-0123456789abcdWXYZ" not in logged)
        finally:
            process.terminate()
            process.wait(timeout=30)

    finish()


if __name__ == "__main__":
    main()
