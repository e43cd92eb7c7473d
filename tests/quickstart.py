#!/usr/bin/env python3
"""The newcomer's path, end to end, against the built `plugboard` binary.

Starts the binary on the embedded SQLite default in a scratch folder, with OpenAI pointed at a
local stand-in provider, then signs up, creates an organization, lists integrations, saves an
API key and checks that only its last four characters come back. On that default the provider
sandbox is on (PLUGBOARD_SANDBOX is left unset): connects Shopify and Google Ads through its
consent page as a browser would, denies Slack, refreshes Google Ads, and opens the sandbox's
control page. Restarts the binary on the same data and checks the stored key and the sandbox
token still open. Checks that PostgreSQL without keys refuses to start. Prints
`N passed, N failed` and exits non-zero on any failure.
"""

import http.cookiejar
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

from support import check, finish, free_port

BINARY = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/debug/plugboard")
KEY = "sk-quickstart-0123456789abcdWXYZ"




class StandInOpenAI(BaseHTTPRequestHandler):
    def do_GET(self):
        good = self.path == "/v1/models" and self.headers.get("Authorization") == f"Bearer {KEY}"
        self.send_response(200 if good else 401)
        self.send_header("content-type", "application/json")
        self.end_headers()
        body = {"data": [{"id": "gpt-4o", "owned_by": "quickstart-org"}]} if good else {"error": {"message": "Incorrect API key provided."}}
        self.wfile.write(json.dumps(body).encode())

    def log_message(self, *args):
        pass


def call(base, method, path, token=None, body=None):
    request = urllib.request.Request(base + path, method=method)
    if token:
        request.add_header("authorization", f"Bearer {token}")
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        request.add_header("content-type", "application/json")
    try:
        with API.open(request, data, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """A browser whose every redirect is looked at rather than followed."""

    def redirect_request(self, *args, **kwargs):
        return None


# The web app's calls and the browser's page visits share one cookie jar, as they share one
# browser: an OAuth flow must come back to the browser that started it.
COOKIES = http.cookiejar.CookieJar()
API = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(COOKIES))
BROWSER = urllib.request.build_opener(NoRedirects, urllib.request.HTTPCookieProcessor(COOKIES))


def visit(url, form=None, token=None):
    """One browser request (a form POST when `form` is given): (status, Location, body)."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data, method="GET" if form is None else "POST")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    try:
        with BROWSER.open(request, timeout=30) as response:
            return response.status, response.headers.get("location"), response.read().decode()
    except urllib.error.HTTPError as answer:
        return answer.code, answer.headers.get("location"), answer.read().decode()


def through_the_sandbox(base, token, org_id, provider, config, decision):
    """Starts OAuth, opens the sandbox's consent page, presses Approve or Deny and follows the
    browser back through Plugboard's callback. Answers the landing's query, or None."""
    status, started = call(base, "POST", f"/api/v1/orgs/{org_id}/integrations/{provider}/oauth/start", token, {"config": config})
    url = started.get("authorization_url", "") if status == 200 else ""
    check(f"{provider}: start answers the sandbox's consent URL", url.startswith(f"{base}/sandbox/{provider}/") and bool(started.get("state")), started)
    if not url:
        return None
    status, _, page = visit(url)
    check(f"{provider}: the consent page shows Approve and Deny", status == 200 and "Approve" in page and "Deny" in page and "Plugboard wants to access" in page, f"{status} {page[:300]}")
    status, callback, _ = visit(url, {"decision": decision})
    callback = callback or ""
    check(f"{provider}: {decision} sends the browser to Plugboard's callback", status == 302 and urllib.parse.urlsplit(callback).path == f"/api/v1/oauth/{provider}/callback", f"{status} {callback}")
    if not callback:
        return None
    status, location, _ = visit(urllib.parse.urljoin(base, callback))
    location = location or ""
    landing = urllib.parse.urlsplit(location)
    query = dict(urllib.parse.parse_qsl(landing.query))
    check(f"{provider}: the callback lands on the settings page", status == 303 and landing.path == f"/settings/integrations/{provider}" and query.get("integration") == provider, f"{status} {location}")
    check(f"{provider}: the landing carries no token and no provider code", "sbx_" not in location and not query.get("code", "").startswith("sbx_"), location)
    return query


def start(folder, env_extra, port):
    # None of the caller's PLUGBOARD_* settings: the defaults (the sandbox's among them) are checked.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLUGBOARD_", "DATABASE_URL"))}
    env.update({"PLUGBOARD_BIND": f"127.0.0.1:{port}", "RUST_LOG": "info"})
    env.update(env_extra)
    log = open(os.path.join(folder, f"server-{port}.log"), "w")
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


def stop(process):
    process.terminate()
    process.wait(timeout=30)


def main():
    provider = HTTPServer(("127.0.0.1", 0), StandInOpenAI)
    threading.Thread(target=provider.serve_forever, daemon=True).start()
    redirect = {"PLUGBOARD_PROVIDER_BASE_URLS": f"openai=http://127.0.0.1:{provider.server_port}"}

    with tempfile.TemporaryDirectory() as folder:
        # Ann runs this instance, so she is its platform admin (the sandbox's modes need one).
        process, base, log = start(folder, {**redirect, "PLUGBOARD_ADMIN_EMAILS": "ann@example.com"}, free_port())
        try:
            status, signup = call(base, "POST", "/api/v1/auth/signup", body={"email": "ann@example.com", "password": "correct horse battery", "name": "Ann"})
            check("sign up", status == 201 and signup["token_type"] == "Bearer", signup)
            token = signup["access_token"]
            status, org = call(base, "POST", "/api/v1/orgs", token, {"name": "Acme"})
            check("create an organization", status == 201 and org["role"] == "owner", org)
            org_id = org["id"]
            status, listed = call(base, "GET", f"/api/v1/orgs/{org_id}/integrations", token)
            providers = {i["provider"]: i for i in listed["data"]}
            check("list integrations", status == 200 and len(providers) >= 30 and providers["openai"]["status"] == "not_connected", status)
            status, wrong = call(base, "PATCH", f"/api/v1/orgs/{org_id}/integrations/openai", token, {"credentials": {"api_key": "sk-quickstart-wrongwrongwrong0"}})
            check("a wrong key is refused with the provider's reason", status == 422 and "Incorrect API key" in wrong["detail"], wrong)
            status, saved = call(base, "PATCH", f"/api/v1/orgs/{org_id}/integrations/openai", token, {"credentials": {"api_key": KEY}})
            check("a good key connects", status == 200 and saved["status"] == "connected", saved)
            check("only the last four characters come back", saved["credentials"]["api_key"] == {"configured": True, "last4": "WXYZ"} and KEY not in json.dumps(saved), saved)

            # The provider sandbox, on by default here; OpenAI's explicit base URL above still won.
            landing = through_the_sandbox(base, token, org_id, "shopify", {"shop": "acme.myshopify.com"}, "approve") or {}
            check("shopify: approving lands with result=connected", landing.get("result") == "connected" and "code" not in landing, landing)
            status, shopify = call(base, "GET", f"/api/v1/orgs/{org_id}/integrations/shopify", token)
            check("shopify: connected to the sandbox shop", status == 200 and shopify["status"] == "connected" and shopify["account_name"] == "Acme (sandbox)", shopify)

            landing = through_the_sandbox(base, token, org_id, "slack", {}, "deny") or {}
            check("slack: denying lands with result=error and code=access_denied", landing.get("result") == "error" and landing.get("code") == "access_denied", landing)
            status, slack = call(base, "GET", f"/api/v1/orgs/{org_id}/integrations/slack", token)
            check("slack: a denied consent stores nothing", status == 200 and slack["status"] == "not_connected", slack)

            landing = through_the_sandbox(base, token, org_id, "google_ads", {}, "approve") or {}
            check("google_ads: approving lands with result=connected", landing.get("result") == "connected", landing)
            status, google = call(base, "GET", f"/api/v1/orgs/{org_id}/integrations/google_ads", token)
            check("google_ads: connected with the sandbox customer", status == 200 and google["status"] == "connected" and google["account_id"] == "customers/5550000001", google)
            refresh = f"/api/v1/orgs/{org_id}/integrations/google_ads/refresh"
            status, renewed = call(base, "POST", refresh, token, {})
            check("google_ads: a refresh renews the token", status == 200 and renewed["status"] == "connected", renewed)

            status, _, page = visit(f"{base}/sandbox")
            check("the sandbox control page opens", status == 200 and "Provider sandbox" in page and "<form" in page, f"{status} {page[:300]}")
            status, _, _ = visit(f"{base}/sandbox/_modes/google_ads", {"mode": "revoked"})
            check("switching a sandbox mode needs a signed-in platform admin", status == 401, status)
            status, location, _ = visit(f"{base}/sandbox/_modes/google_ads", {"mode": "revoked"}, token)
            check("the platform admin revokes Google Ads", status == 303 and location == "/sandbox", f"{status} {location}")
            status, expired = call(base, "POST", refresh, token, {})
            check("google_ads: after the revocation a refresh expires the connection", status == 200 and expired["status"] == "expired" and (expired.get("last_error") or {}).get("code") == "refresh_refused", expired)
            visit(f"{base}/sandbox/_modes/google_ads", {"mode": "healthy"}, token)

            status, refused = call(base, "PATCH", f"/api/v1/orgs/{org_id}/integrations/resend", token, {"credentials": {"api_key": "re_invalid_0123456789"}})
            check("the sandbox refuses a key containing `invalid`", status == 422, refused)
            status, resend = call(base, "PATCH", f"/api/v1/orgs/{org_id}/integrations/resend", token, {"credentials": {"api_key": "re_sandbox_0123456789"}})
            check("the sandbox accepts any other well-formed key", status == 200 and resend["status"] == "connected", resend)
        finally:
            stop(process)
        logged = open(log).read()
        check("the key is in no log line", KEY not in logged)
        check("a generated key is announced", "PLUGBOARD_ENCRYPTION_KEYS is not set" in logged)
        check("the sandbox is announced", "the provider sandbox is on" in logged)
        check("no sandbox token is in a log line", "sbx_at." not in logged and "sbx_rt." not in logged)
        keys_file = os.path.join(folder, "data", "encryption.keys")
        check("the generated key file is private", os.stat(keys_file).st_mode & 0o077 == 0)

        process, base, _ = start(folder, redirect, free_port())
        try:
            status, login = call(base, "POST", "/api/v1/auth/login", body={"email": "ann@example.com", "password": "correct horse battery"})
            status, tested = call(base, "POST", f"/api/v1/orgs/{org_id}/integrations/openai/test", login["access_token"], {})
            check("after a restart the stored key still opens and works", status == 200 and tested["ok"] is True, tested)
            status, tested = call(base, "POST", f"/api/v1/orgs/{org_id}/integrations/shopify/test", login["access_token"], {})
            check("after a restart the sandbox's Shopify token still works", status == 200 and tested["ok"] is True, tested)
        finally:
            stop(process)

    with tempfile.TemporaryDirectory() as folder:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGBOARD_")}
        env["DATABASE_URL"] = "postgres://nobody@127.0.0.1:1/none"
        refused = subprocess.run([BINARY, "serve"], cwd=folder, env=env, capture_output=True, text=True, timeout=60)
        check("PostgreSQL without keys refuses to start", refused.returncode != 0 and "PLUGBOARD_ENCRYPTION_KEYS" in refused.stderr, refused.stderr[-500:])

    finish()


if __name__ == "__main__":
    main()
