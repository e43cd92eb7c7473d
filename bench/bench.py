#!/usr/bin/env python3
"""Plugboard's benchmarks: `make bench` (Python 3 standard library; wrk, pgbench, psql, openssl).

Starts everything it needs — fresh PostgreSQL databases (dropped at the end), the built binary,
a stand-in provider on loopback — seeds, measures and prints a table of each figure with its
target, then writes the results file with a description of the machine. Every figure is the
median of several runs, and every ratio is taken between figures measured side by side in the
same run, because the machines are shared and noisy. Each phase stops after a fixed time.

Phases:
  read     the integrations list at BENCH_CLIENTS connections ÷ `pgbench -S` on the same
           server (alternating runs), p50/p99, one connection p50, /healthz, peak RSS;
  scale    the same list with BENCH_SMALL_ORGS and with BENCH_LARGE_ORGS organizations × every
           provider (a mix of statuses, events per connection), two servers measured in turns:
           p50 ratio, and EXPLAIN of the list's queries;
  write    PATCH saving an API key, verified against the stand-in provider: throughput, p99;
  sweep    BENCH_SWEEP connections due for renewal, renewed by 1 and then 2 replicas: their rate
           at the provider ÷ the stand-in token endpoint's own raw rate, peak RSS;
  proxy    a provider's answer through the proxy ÷ straight from the stand-in, at BENCH_CLIENTS
           connections and at one (the p50 the proxy adds), and peak RSS while a 50 MB answer
           streams through;
  attack   a server under BENCH_ATTACK concurrent anonymous sign-ups (from one address, then
           spread over many) and as many wrong log-ins: peak RSS, RSS five seconds after, every
           answer 201/401/429/503, one other client's sign-up p50 and the list's p99 meanwhile;
  startup  start to /readyz on the embedded SQLite default, migrations included;
  spa      the SPA's initial JavaScript, gzip, from frontend/dist when it is built.

Configuration (environment): BENCH_SIZE=full|tiny (tiny: every phase at a tiny size, to prove
the harness works), BENCH_BIN, BENCH_ADMIN_URL (else TEST_DATABASE_URL, else the server on
127.0.0.1:5432), BENCH_OUT, BENCH_PHASES (comma list), BENCH_RUNS, BENCH_DURATION, BENCH_CLIENTS,
BENCH_SMALL_ORGS, BENCH_LARGE_ORGS, BENCH_EVENTS_PER_CONNECTION, BENCH_SWEEP,
BENCH_WRITE_ORGS, BENCH_ATTACK, BENCH_STARTS, BENCH_PHASE_TIMEOUT, BENCH_SEED_TIMEOUT, BENCH_PGBENCH_SCALE.
Exit status: non-zero when a phase could not run (timings never fail it).
"""

import atexit
import base64
import asyncio
import datetime
import gzip
from http.client import HTTPConnection
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import threading
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import gcm  # noqa: E402

TINY = os.environ.get("BENCH_SIZE", "full") == "tiny"


def setting(name, full, tiny, kind=int):
    value = os.environ.get(name)
    return kind(value) if value not in (None, "") else (tiny if TINY else full)


RUNS = setting("BENCH_RUNS", 3, 1)
DURATION = setting("BENCH_DURATION", 10, 1)
CLIENTS = setting("BENCH_CLIENTS", 32, 4)
SMALL_ORGS = setting("BENCH_SMALL_ORGS", 100, 3)
LARGE_ORGS = setting("BENCH_LARGE_ORGS", 10000, 12)
EVENTS_PER_CONNECTION = setting("BENCH_EVENTS_PER_CONNECTION", 3, 1)
SWEEP = setting("BENCH_SWEEP", 10000, 30)
WRITE_ORGS = setting("BENCH_WRITE_ORGS", 128, 16)
STARTS = setting("BENCH_STARTS", 5, 2)
ATTACK = setting("BENCH_ATTACK", 1000, 60)
PHASE_TIMEOUT = setting("BENCH_PHASE_TIMEOUT", 900, 90)
SEED_TIMEOUT = setting("BENCH_SEED_TIMEOUT", 1800, 90)
PGBENCH_SCALE = setting("BENCH_PGBENCH_SCALE", 10, 1)
PHASES = setting("BENCH_PHASES", "read,scale,write,sweep,proxy,attack,startup,spa", "read,scale,write,sweep,proxy,attack,startup,spa", str).split(",")
BIN = os.path.abspath(os.environ.get("BENCH_BIN") or os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "plugboard"))
OUT = os.path.abspath(os.environ.get("BENCH_OUT") or os.path.join(HERE, "results", "tiny.md" if TINY else "latest.md"))
ADMIN_URL = os.environ.get("BENCH_ADMIN_URL") or os.environ.get("TEST_DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
TAG = f"plugboard_bench_{os.getpid()}"
PASSWORD = "bench horse battery staple"
# Refreshes a replica runs at once (crates/api/src/worker/refresh.rs, CONCURRENCY).
WORKER_CONCURRENCY = 8

SCRATCH = tempfile.mkdtemp(prefix="plugboard-bench-")
PROCESSES = []
DATABASES = []


# ---------------------------------------------------------------------------------------------
# Processes, databases, HTTP


def cleanup():
    for process in PROCESSES:
        if process.poll() is None:
            process.kill()
            process.wait()
    for db in DATABASES:
        psql(ADMIN_URL, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)', check=False)
    shutil.rmtree(SCRATCH, ignore_errors=True)


def stop(process):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def db_url(name):
    base, _, _ = ADMIN_URL.rpartition("/")
    return f"{base}/{name}"


def psql(url, sql, check=True, stdin=None, timeout=None):
    """Runs SQL with psql; its unaligned output."""
    done = subprocess.run(
        ["psql", url, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
        input=stdin, capture_output=True, text=True, timeout=timeout,
    )
    if check and done.returncode != 0:
        raise RuntimeError(f"psql failed: {done.stderr.strip()[:500]}")
    return done.stdout.strip()


def create_database(suffix):
    name = f"{TAG}_{suffix}"
    psql(ADMIN_URL, f'CREATE DATABASE "{name}"')
    DATABASES.append(name)
    return db_url(name)


def http(method, url, token=None, body=None, timeout=60):
    request = urllib.request.Request(url, method=method)
    if token:
        request.add_header("authorization", f"Bearer {token}")
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, data, timeout=timeout) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None, len(raw)
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw), len(raw)
        except ValueError:
            return error.code, raw.decode(errors="replace"), len(raw)


def vm_hwm_mb(pid):
    """Peak resident set size (VmHWM) of a process, in MB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid):
    """User plus system CPU time a process has used so far, in seconds."""
    with open(f"/proc/{pid}/stat") as stat:
        # The fields after the command name (which may hold spaces), as proc(5) numbers them.
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds():
    """CPU time the whole machine has spent busy so far (all CPUs), in seconds."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds():
    """CPU time of this script's finished children (wrk, pgbench), in seconds."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class CpuMeter:
    """Where the machine's CPU time goes over one load: the measured process, the load generator
    (a child of this script, finished when read) and the rest, which on a quiet machine is the
    database server."""

    def __init__(self, pid=None):
        self.pid = pid
        self.start = (machine_busy_seconds(), children_cpu_seconds(), cpu_seconds(pid) if pid else 0.0)

    def per(self, count):
        machine = machine_busy_seconds() - self.start[0]
        client = children_cpu_seconds() - self.start[1]
        own = (cpu_seconds(self.pid) - self.start[2]) if self.pid else 0.0
        count = max(count, 1)
        return {"own": own / count, "client": client / count, "rest": max(0.0, machine - client - own) / count}


def rss_parts_mb(pid):
    """Resident memory now, by kind: anonymous (heap, stacks) and file-backed (the binary)."""
    parts = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key = line.split(":")[0]
            if key in ("RssAnon", "RssFile"):
                parts[key] = int(line.split()[1]) / 1024
    return parts


class Profile:
    """perf's cpu-clock samples of the whole machine for `seconds`, when perf can record here:
    the server, PostgreSQL and the load generator share the CPUs, so all of them are shown."""

    def __init__(self, seconds):
        self.data = os.path.join(SCRATCH, f"perf-{time.monotonic_ns()}.data")
        perf = shutil.which("perf")
        self.process = None
        if perf:
            command = [perf, "record", "-q", "-a", "-F", "499", "-e", "cpu-clock", "-o", self.data, "--", "sleep", str(seconds)]
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def section(self, title, what):
        """A results section: the share of samples by process, by object, then by function."""
        if not self.process:
            return (title, "Not profiled: `perf` (Debian's linux-perf) is not installed.")
        _, err = self.process.communicate(timeout=120)
        if not os.path.exists(self.data):
            return (title, f"Not profiled: perf record failed: {err.decode(errors='replace').strip()[:300]}")
        body = [what, ""]
        for heading, keys, least, most in (("By process", "comm", 0.5, 12), ("By process and object", "comm,dso", 1.0, 16),
                                           ("By function (self time)", "comm,dso,sym", 0.7, 30)):
            body += [f"{heading}, share of all samples:", "", "```", *perf_report(self.data, keys, least)[:most], "```", ""]
        return (title, "\n".join(body))


def perf_report(data, keys, least):
    done = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", keys, "--stdio", "--percent-limit", str(least)],
                          capture_output=True, text=True, timeout=300)
    lines = [line.rstrip() for line in done.stdout.splitlines()]
    samples = [line.lstrip("# ") for line in lines if line.startswith("# Samples")]
    rows = [re.sub(r"\s+", " ", line.strip())[:140] for line in lines if re.match(r"^\s*[\d.]+%", line)]
    return samples[:1] + rows


class Keys:
    def __init__(self):
        self.key = os.urandom(32)
        self.ring = "k1:" + base64.b64encode(self.key).decode()


KEYS = Keys()
JWT_SECRET = base64.b64encode(os.urandom(48)).decode()


class Server:
    """One `plugboard serve` on PostgreSQL (or the SQLite default), API-only unless `worker`."""

    def __init__(self, name, database_url, mock_port=None, worker=False, extra=None, data_dir=None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(SCRATCH, f"{name}-{self.port}.log")
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PLUGBOARD_BIND": f"127.0.0.1:{self.port}",
            "PLUGBOARD_DATA_DIR": data_dir or os.path.join(SCRATCH, f"data-{name}-{self.port}"),
            "PLUGBOARD_WORKER": "true" if worker else "false",
            # The load is one organization on purpose: its request budget is not what is measured.
            "PLUGBOARD_RATE_LIMIT_ORG_PER_MINUTE": "1000000000",
            "PLUGBOARD_RATE_LIMIT_CALLER_PER_MINUTE": "1000000000",
            "RUST_LOG": "warn",
        }
        if database_url:
            env.update({
                "DATABASE_URL": database_url,
                "PLUGBOARD_ENCRYPTION_KEYS": KEYS.ring,
                "PLUGBOARD_JWT_SECRET": JWT_SECRET,
                "PLUGBOARD_SANDBOX": "false",
            })
        if mock_port:
            env["PLUGBOARD_PROVIDER_BASE_URLS"] = f"openai=http://127.0.0.1:{mock_port},linkedin=http://127.0.0.1:{mock_port}"
            env["LINKEDIN_CLIENT_ID"] = "bench-client"
            env["LINKEDIN_CLIENT_SECRET"] = "bench-secret"
        env.update(extra or {})
        self.log = open(self.log_path, "wb")
        self.started = time.monotonic()
        self.process = subprocess.Popen([BIN, "serve"], env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=SCRATCH)
        PROCESSES.append(self.process)

    def wait_ready(self, timeout=120, poll=0.05):
        """Seconds from spawn to the first 200 on /readyz."""
        deadline = self.started + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"plugboard exited ({self.process.returncode}): {self.tail()}")
            if ready(self.port):
                return time.monotonic() - self.started
            time.sleep(poll)
        raise RuntimeError(f"plugboard not ready within {timeout} s: {self.tail()}")

    def tail(self):
        self.log.flush()
        with open(self.log_path, "rb") as log:
            return log.read()[-1500:].decode(errors="replace")

    def hwm(self):
        return vm_hwm_mb(self.process.pid)

    def reset_hwm(self):
        """Starts the peak RSS again from what is resident now (Linux: `5` into clear_refs), so a
        peak measured next belongs to what comes next."""
        with open(f"/proc/{self.process.pid}/clear_refs", "w") as refs:
            refs.write("5")

    def stop(self):
        stop(self.process)


def ready(port):
    """One GET /readyz over a raw socket: true on 200."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"GET /readyz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            return s.recv(16).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


class Mock:
    """The stand-in provider (bench/mock_provider.py)."""

    def __init__(self):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen([sys.executable, os.path.join(HERE, "mock_provider.py"), str(self.port)], stdout=subprocess.PIPE)
        PROCESSES.append(self.process)
        self.process.stdout.readline()

    def stats(self):
        return http("GET", self.base + "/_stats")[1]

    def reset(self):
        http("POST", self.base + "/_reset", body={})


# ---------------------------------------------------------------------------------------------
# Load generators


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def ms(text):
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * UNITS[unit]


def wrk(url, connections, seconds, token=None, script=None, threads=None):
    """One wrk run: requests/s, p50 and p99 in ms, requests, non-2xx answers, socket errors."""
    threads = threads or min(2, connections)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    if script:
        command += ["-s", script]
    done = subprocess.run(command + [url], capture_output=True, text=True, timeout=seconds + 60)
    out = done.stdout
    if done.returncode != 0 or "Requests/sec" not in out:
        raise RuntimeError(f"wrk failed: {done.stderr.strip()[:300]} {out[-300:]}")
    figures = {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": ms(re.search(r"\s50%\s+(\S+)", out).group(1)),
        "p99": ms(re.search(r"\s99%\s+(\S+)", out).group(1)),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "non2xx": int((re.search(r"Non-2xx or 3xx responses: (\d+)", out) or [0, 0])[1]),
        "errors": sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", (re.search(r"Socket errors:.*", out) or [""])[0])),
    }
    if figures["requests"] == 0 or figures["non2xx"] > figures["requests"] / 2:
        raise RuntimeError(f"wrk: {figures['non2xx']} of {figures['requests']} answers were not 2xx")
    return figures


def pgbench_latency(url, seconds):
    """pgbench -S from one client: the average transaction's latency in ms."""
    done = subprocess.run(["pgbench", "-n", "-S", "-c1", f"-T{seconds}", url], capture_output=True, text=True, timeout=seconds + 60)
    found = re.search(r"latency average = ([\d.]+) ms", done.stdout)
    if not found:
        raise RuntimeError(f"pgbench failed: {done.stderr.strip()[:300]}")
    return float(found.group(1))


def pgbench_tps(url, clients, seconds):
    command = ["pgbench", "-n", "-S", f"-c{clients}", f"-j{min(2, clients)}", f"-T{seconds}", url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    found = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
    if not found:
        raise RuntimeError(f"pgbench failed: {done.stderr.strip()[:300]}")
    return float(found.group(1))


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


# ---------------------------------------------------------------------------------------------
# Seeding


class Tenant:
    """A user who signed up through the API and the organization they created."""

    def __init__(self, server, email):
        self.server, self.email = server, email
        status, body, _ = http("POST", server.base + "/api/v1/auth/signup", body={"email": email, "password": PASSWORD, "name": "Bench"})
        if status != 201:
            raise RuntimeError(f"sign up: {status} {body}")
        self.token = body["access_token"]
        self.org_id = self.create_org("Bench probe")
        self.user_id = psql_one(server, f"SELECT id FROM users WHERE email = '{email}'")

    def create_org(self, name):
        status, body, _ = http("POST", self.server.base + "/api/v1/orgs", self.token, {"name": name})
        if status != 201:
            raise RuntimeError(f"create org: {status} {body}")
        return body["id"]

    def login(self):
        """A fresh access token (they last 15 minutes)."""
        status, body, _ = http("POST", self.server.base + "/api/v1/auth/login", body={"email": self.email, "password": PASSWORD})
        if status != 200:
            raise RuntimeError(f"log in: {status} {body}")
        self.token = body["access_token"]
        return self.token

    def list_url(self, base=None):
        return f"{base or self.server.base}/api/v1/orgs/{self.org_id}/integrations"


def psql_one(server, sql):
    return psql(server.database_url, sql)


def providers_of(tenant):
    """Every provider id with the name of its first secret field, from the list itself."""
    status, body, _ = http("GET", tenant.list_url(), tenant.token)
    if status != 200:
        raise RuntimeError(f"list: {status} {body}")
    items = body["data"] if isinstance(body, dict) else body
    return [(item["provider"], next(iter(item.get("credentials") or {}), "access_token"), item.get("auth_type")) for item in items]


# Statuses by share of connections (percent, cumulative): a realistic mix.
STATUS_SQL = """
CASE WHEN b < 45 THEN 'connected' WHEN b < 60 THEN 'not_connected' WHEN b < 72 THEN 'expired'
     WHEN b < 85 THEN 'error' ELSE 'disabled' END
"""


def seed_tenants(url, providers, orgs, events_per_connection, deadline):
    """`orgs` organizations in all (the probe one included), each with an owner and a
    connection to every provider, `events_per_connection` history events each, and a sealed secret for each
    connection that holds credentials."""
    left = lambda: max(1, deadline - time.monotonic())  # noqa: E731
    values = ",".join(f"('{p}')" for p, _, _ in providers)
    psql(url, f"""
      INSERT INTO organizations (id, name, created_at, updated_at)
      SELECT gen_random_uuid(), 'Brand ' || n, now() - interval '400 days', now() - interval '400 days'
      FROM generate_series(1, {max(0, orgs - 1)}) n;
      INSERT INTO users (id, email, name, password_hash, created_at, updated_at)
      SELECT gen_random_uuid(), 'owner-' || o.id || '@bench.example', 'Owner', '$argon2id$v=19$m=19456,t=2,p=1$bench', o.created_at, o.created_at
      FROM organizations o WHERE NOT EXISTS (SELECT 1 FROM memberships m WHERE m.org_id = o.id);
      INSERT INTO memberships (id, org_id, user_id, role, created_at)
      SELECT gen_random_uuid(), o.id, u.id, 'owner', o.created_at
      FROM organizations o JOIN users u ON u.email = 'owner-' || o.id || '@bench.example';
      CREATE TEMP TABLE bench_providers (provider text);
      INSERT INTO bench_providers VALUES {values};
      INSERT INTO connections (id, org_id, provider, status, enabled, config, account_name, account_id,
          scopes, token_expires_at, last_tested_at, last_sync_at, last_error_code, last_error_message,
          connected_at, connected_by, disconnected_at, created_at, updated_at, version)
      SELECT gen_random_uuid(), o.id, p.provider, s.status, s.status <> 'disabled', '{{}}',
          CASE WHEN s.status <> 'not_connected' THEN 'Account of ' || o.name END,
          CASE WHEN s.status <> 'not_connected' THEN 'acct_' || substr(md5(o.id::text || p.provider), 1, 12) END,
          '', CASE WHEN s.status IN ('connected', 'disabled') AND b % 3 = 0 THEN now() + interval '30 days' END,
          now() - interval '3 hours', CASE WHEN s.status = 'connected' THEN now() - interval '1 hour' END,
          CASE WHEN s.status IN ('expired', 'error') THEN 'provider_refused' END,
          CASE WHEN s.status IN ('expired', 'error') THEN 'The provider refused the stored credentials; reconnect to give Plugboard access again.' END,
          CASE WHEN s.status <> 'not_connected' THEN now() - interval '90 days' END, NULL,
          CASE WHEN s.status = 'not_connected' THEN now() - interval '10 days' END,
          now() - interval '120 days', now() - interval '3 hours', 1 + b % 5
      FROM organizations o CROSS JOIN bench_providers p
      CROSS JOIN LATERAL (SELECT abs(hashtext(o.id::text || p.provider)) % 100 AS b) h
      CROSS JOIN LATERAL (SELECT {STATUS_SQL} AS status) s
      WHERE NOT EXISTS (SELECT 1 FROM connections c WHERE c.org_id = o.id AND c.provider = p.provider);
      INSERT INTO connection_events (id, org_id, connection_id, provider, action, success, code, message,
          actor_kind, actor_id, created_at)
      SELECT gen_random_uuid(), c.org_id, c.id, c.provider,
          (ARRAY['credentials_saved', 'tested', 'refreshed', 'health_checked', 'disabled'])[1 + (g + abs(hashtext(c.id::text))) % 5],
          c.status <> 'error' OR g > 1, CASE WHEN c.status = 'error' AND g = 1 THEN 'provider_unavailable' END,
          'Bench history event ' || g, 'system', NULL, now() - (g || ' days')::interval
      FROM connections c CROSS JOIN generate_series(1, {events_per_connection}) g;
    """, timeout=left())
    # Secrets, sealed as the server seals them (so start-up's key check opens them).
    rows = psql(url, "SELECT c.id, c.org_id, c.provider FROM connections c WHERE c.status <> 'not_connected' "
                     "AND NOT EXISTS (SELECT 1 FROM connection_secrets s WHERE s.connection_id = c.id)", timeout=left())
    field_of = {p: f for p, f, _ in providers}
    batch, lines = [], []
    rows = [r.split("|") for r in rows.splitlines() if r]
    for start in range(0, len(rows), 20000):
        chunk = rows[start:start + 20000]
        items = [(f"{org}|{provider}|{field_of[provider]}".encode(), f"bench-secret-{cid[:8]}".encode()) for cid, org, provider in chunk]
        sealed = gcm.seal_many(KEYS.key, items)
        for (cid, org, provider), value, (_, plain) in zip(chunk, sealed, items):
            lines.append("\t".join([str(uuid.uuid4()), org, cid, field_of[provider], gcm.stored("k1", value), "k1", plain.decode()[-4:], "2026-01-01 00:00:00+00"]))
        if time.monotonic() > deadline:
            raise TimeoutError("seeding secrets ran out of time")
    del batch
    if lines:
        psql(url, "COPY connection_secrets (id, org_id, connection_id, field, ciphertext, key_id, last4, updated_at) FROM STDIN",
             stdin="\n".join(lines) + "\n", timeout=left())
    psql(url, "VACUUM ANALYZE", timeout=left())
    return counts(url)


def counts(url):
    line = psql(url, "SELECT (SELECT count(*) FROM organizations), (SELECT count(*) FROM connections), "
                     "(SELECT count(*) FROM connection_events), (SELECT count(*) FROM connection_secrets)")
    return dict(zip(["orgs", "connections", "events", "secrets"], map(int, line.split("|"))))


# ---------------------------------------------------------------------------------------------
# Results


class Results:
    def __init__(self):
        self.rows = []  # (phase, figure, measured, target, verdict, note)
        self.sections = []  # (title, markdown)
        self.failures = []
        self.notes = []

    def add(self, phase, figure, measured, target="—", met=None, note=""):
        verdict = "—" if met is None else ("met" if met else "NOT met")
        self.rows.append((phase, figure, measured, target, verdict, note))
        print(f"  {figure}: {measured}  (target {target}: {verdict}) {note}".rstrip(), flush=True)

    def table(self):
        lines = ["| phase | figure | measured | target | verdict | note |", "| --- | --- | --- | --- | --- | --- |"]
        lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in self.rows]
        return "\n".join(lines)


RESULTS = Results()


def fmt(value, digits=2, unit=""):
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}{unit}"


def run_phase(name, fn, timeout):
    if name not in PHASES:
        return
    print(f"==> {name} (stops after {timeout} s)", flush=True)
    started = time.monotonic()
    try:
        fn(started + timeout)
    except (TimeoutError, subprocess.TimeoutExpired) as error:
        RESULTS.add(name, f"{name} phase", "stopped", note=f"stopped after {time.monotonic() - started:.0f} s: {error}".replace("|", "/")[:300])
        RESULTS.failures.append(name)
    except Exception as error:  # a phase that cannot run fails the harness, after cleanup
        RESULTS.add(name, f"{name} phase", "FAILED", note=str(error).replace("|", "/").replace("\n", " ")[:300])
        RESULTS.failures.append(name)
    print(f"    ({time.monotonic() - started:.1f} s)", flush=True)


def check_time(deadline):
    if time.monotonic() > deadline:
        raise TimeoutError("out of time")


# ---------------------------------------------------------------------------------------------
# Phases

STATE = {}


def phase_seed(deadline):
    """The stand-in provider, the small and large databases with a server each, and the probe
    tenant in each; shared by read, scale and write."""
    mock = STATE.setdefault("mock", Mock())
    for size, orgs in (("small", SMALL_ORGS), ("large", LARGE_ORGS)):
        url = create_database(size)
        server = Server(size, url, mock.port)
        server.database_url = url
        server.wait_ready()
        tenant = Tenant(server, f"bench-{size}@example.com")
        providers = providers_of(tenant)
        started = time.monotonic()
        seeded = seed_tenants(url, providers, orgs, EVENTS_PER_CONNECTION, deadline)
        print(f"    seeded {size}: {seeded} in {time.monotonic() - started:.1f} s", flush=True)
        STATE[size] = (server, tenant, seeded, providers)


def prepared():
    if "large" not in STATE:
        raise RuntimeError("no data set: seeding did not finish")


def phase_read(deadline):
    prepared()
    server, tenant, seeded, providers = STATE["small"]
    pg_url = create_database("pgbench")
    done = subprocess.run(["pgbench", "-i", "-q", "-s", str(PGBENCH_SCALE), pg_url], capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"pgbench -i: {done.stderr[-300:]}")
    token = tenant.login()
    url = tenant.list_url()
    status, _, size = http("GET", url, token)
    if status != 200:
        raise RuntimeError(f"list answered {status}")
    # Warm up both sides.
    wrk(url, CLIENTS, 1, token)
    pgbench_tps(pg_url, CLIENTS, 1)
    ratios, lists, tps, list_cpu, pgbench_cpu = [], [], [], [], []
    for _ in range(RUNS):
        check_time(deadline)
        meter = CpuMeter()
        t = pgbench_tps(pg_url, CLIENTS, DURATION)
        pgbench_cpu.append(meter.per(t * DURATION))
        meter = CpuMeter(server.process.pid)
        figures = wrk(url, CLIENTS, DURATION, token)
        list_cpu.append(meter.per(figures["requests"]))
        tps.append(t)
        lists.append(figures)
        ratios.append(figures["rps"] / t)
    ones = []
    for _ in range(RUNS):
        check_time(deadline)
        ones.append(wrk(url, 1, DURATION, token)["p50"])
    single_query = pgbench_latency(pg_url, DURATION)
    health = []
    for _ in range(RUNS):
        check_time(deadline)
        health.append(wrk(f"{server.base}/healthz", CLIENTS, DURATION)["rps"])
    hwm = server.hwm()
    memory = rss_parts_mb(server.process.pid)
    check_time(deadline)
    profile = Profile(DURATION)
    wrk(url, CLIENTS, DURATION, token)
    RESULTS.sections.append(profile.section("Where the list's time goes", f"`perf record -a -e cpu-clock` over {DURATION} s of the kept list at {CLIENTS} connections (the server is `actix-rt|system` and `tokio-runtime-w`, wrk is `wrk`, PostgreSQL is `postgres`)."))
    afresh = list_made_afresh(server, tenant, token, deadline)
    non2xx = sum(f["non2xx"] for f in lists)
    p = "read"
    RESULTS.add(p, f"list throughput at {CLIENTS} connections", fmt(median([f["rps"] for f in lists]), 0, " req/s"), note=f"{len(providers)} providers, {size:,} bytes per answer; {non2xx} non-2xx")
    RESULTS.add(p, f"pgbench -S TPS at {CLIENTS} clients", fmt(median(tps), 0), note=f"scale {PGBENCH_SCALE}, same server, runs alternated with the list's")
    ratio = median(ratios)
    cpu = {part: median([c[part] for c in list_cpu]) * 1000 for part in ("own", "client", "rest")}
    db_cpu = {part: median([c[part] for c in pgbench_cpu]) * 1000 for part in ("client", "rest")}
    costlier = sum(cpu.values()) / max(sum(db_cpu.values()), 1e-9)
    RESULTS.add(p, "list ÷ pgbench -S", fmt(ratio), "≥ 0.7", ratio >= 0.7,
                note=f"median of {RUNS} side-by-side ratios. Both are CPU-bound on the same cores: a list answer costs the machine {fmt(costlier, 1)}× the CPU of a pgbench -S transaction (rows below), and it takes a query (the list's version; the tenant check is read once a second) to pgbench's one")
    RESULTS.add(p, "Plugboard's CPU time per list answer", fmt(cpu["own"], 3, " ms"), note="user + system time of the process over the runs ÷ answers; less noisy than rates on a shared machine")
    RESULTS.add(p, "machine CPU per list answer: Plugboard / wrk / PostgreSQL and the rest", f"{fmt(cpu['own'], 3)} / {fmt(cpu['client'], 3)} / {fmt(cpu['rest'], 3)} ms",
                note="the machine's busy time (/proc/stat) over each run, split by process")
    RESULTS.add(p, "machine CPU per pgbench -S transaction: pgbench / PostgreSQL and the rest", f"{fmt(db_cpu['client'], 3)} / {fmt(db_cpu['rest'], 3)} ms")
    p50 = median([f["p50"] for f in lists])
    p99 = median([f["p99"] for f in lists])
    RESULTS.add(p, f"p50 at {CLIENTS} connections", fmt(p50, 2, " ms"))
    busy = sum(cpu.values()) / 1000 * median([f["rps"] for f in lists]) / (os.cpu_count() or 1)
    RESULTS.add(p, f"p99 at {CLIENTS} connections", fmt(p99, 2, " ms"), "≤ 10 ms", p99 <= 10,
                note=f"the CPUs were {busy:.0%} busy with the server, wrk and PostgreSQL: the tail is waiting for a CPU")
    one = median(ones)
    RESULTS.add(p, "one connection, p50", fmt(one, 3, " ms"), "≤ 0.3 ms", one <= 0.3,
                note=f"an answer waits for one query (the tenant check is read once a second); one pgbench -S transaction from one client takes {fmt(single_query, 3)} ms")
    RESULTS.add(p, f"/healthz at {CLIENTS} connections", fmt(median(health), 0, " req/s"), note="the HTTP stack alone")
    RESULTS.add(p, "peak RSS under the read load (VmHWM)", fmt(hwm, 1, " MB"), "≤ 40 MB", hwm <= 40,
                note=f"after the load: {fmt(memory.get('RssAnon', 0), 1)} MB anonymous (heap, thread stacks), {fmt(memory.get('RssFile', 0), 1)} MB file-backed (the mapped binary, shared and reclaimable)")
    note = "a server that keeps no list (PLUGBOARD_KEPT_LISTS=0): what a list costs when a connection changed since the last one"
    RESULTS.add(p, f"list made afresh every time, throughput at {CLIENTS} connections", fmt(afresh["rps"], 0, " req/s"), note=note)
    RESULTS.add(p, "list made afresh every time, CPU time per answer", fmt(afresh["cpu"] * 1000, 3, " ms"))
    RESULTS.add(p, "list made afresh every time, one connection p50", fmt(afresh["one"], 3, " ms"))


def list_made_afresh(server, tenant, token, deadline):
    """The same list from a second server on the same database that keeps no rendered list."""
    afresh = Server("afresh", server.database_url, extra={"PLUGBOARD_KEPT_LISTS": "0"})
    try:
        afresh.wait_ready()
        url = tenant.list_url(afresh.base)
        wrk(url, CLIENTS, 1, token)
        rates, cpu, ones = [], [], []
        for _ in range(RUNS):
            check_time(deadline)
            meter = CpuMeter(afresh.process.pid)
            figures = wrk(url, CLIENTS, DURATION, token)
            cpu.append(meter.per(figures["requests"])["own"])
            rates.append(figures["rps"])
            ones.append(wrk(url, 1, DURATION, token)["p50"])
        return {"rps": median(rates), "cpu": median(cpu), "one": median(ones)}
    finally:
        afresh.stop()


EXPLAIN_QUERIES = {
    "membership (tenant check)": "SELECT role FROM memberships WHERE org_id = '{org}' AND user_id = '{user}'",
    "version of the organization's connections (a kept answer is current)": "SELECT CAST(COALESCE(SUM(version), 0) AS BIGINT) FROM connections WHERE org_id = '{org}'",
    "connections of the organization (the answer made again)": "SELECT * FROM connections WHERE org_id = '{org}'",
    "secret hints of the organization": "SELECT * FROM connection_secrets WHERE org_id = '{org}' ORDER BY field",
}


def phase_scale(deadline):
    prepared()
    small, large = STATE["small"], STATE["large"]
    tokens = {name: STATE[name][1].login() for name in ("small", "large")}
    p50 = {"small": [], "large": []}
    one = {"small": [], "large": []}
    for name in ("small", "large"):  # warm-up
        wrk(STATE[name][1].list_url(), CLIENTS, 1, tokens[name])
    for _ in range(RUNS):
        for name in ("small", "large"):
            check_time(deadline)
            p50[name].append(wrk(STATE[name][1].list_url(), CLIENTS, DURATION, tokens[name])["p50"])
            one[name].append(wrk(STATE[name][1].list_url(), 1, DURATION, tokens[name])["p50"])
    s, l = small[2], large[2]
    p = "scale"
    RESULTS.add(p, "small data set", f"{s['orgs']:,} orgs, {s['connections']:,} connections, {s['events']:,} events, {s['secrets']:,} secrets")
    RESULTS.add(p, "large data set", f"{l['orgs']:,} orgs, {l['connections']:,} connections, {l['events']:,} events, {l['secrets']:,} secrets",
                "≈ 350 000 connections, ≥ 1 000 000 events" if not TINY else "(tiny size)")
    ps, pl = median(p50["small"]), median(p50["large"])
    RESULTS.add(p, f"list p50 at {CLIENTS} connections, small ÷ large", f"{fmt(ps, 2)} ms / {fmt(pl, 2)} ms")
    ratio = pl / ps
    RESULTS.add(p, f"p50 ratio large ÷ small ({CLIENTS} connections)", fmt(ratio), "≤ 1.2", ratio <= 1.2, f"servers measured in turns, {RUNS} runs each")
    os_, ol = median(one["small"]), median(one["large"])
    ratio1 = ol / os_
    RESULTS.add(p, "p50 ratio large ÷ small (one connection)", f"{fmt(ratio1)} ({fmt(os_, 3)} ms / {fmt(ol, 3)} ms)", "≤ 1.2", ratio1 <= 1.2)
    # The list's queries, planned and run on the large data set.
    server, tenant = large[0], large[1]
    plans, index_use = [], True
    for title, sql in EXPLAIN_QUERIES.items():
        query = sql.format(org=tenant.org_id, user=tenant.user_id)
        plan = psql(server.database_url, f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {query}")
        scans_index = "Index" in plan and "Seq Scan" not in plan
        index_use = index_use and scans_index
        plans.append(f"**{title}** — `{query}`\n\n```\n{plan}\n```")
    RESULTS.sections.append(("Query plans of the list on the large data set", "\n\n".join(plans)))
    RESULTS.add(p, "EXPLAIN of the list's queries", "index scans" if index_use else "a sequential scan", "index use", index_use, "plans below")


WRITE_SCRIPT = """
-- Each wrk thread takes its own share of the organizations and saves to them in turn, so two
-- requests in flight rarely change the same connection (which would be a 409 conflict).
local paths = {%s}
local threads = %d
local token = "%s"
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function init(args)
  mine = {}
  for i = 1, #paths do
    if (i - 1) %% threads == id then mine[#mine + 1] = paths[i] end
  end
  n = id * 1000000
end
function request()
  n = n + 1
  local path = mine[(n %% #mine) + 1]
  local body = string.format('{"credentials":{"api_key":"sk-bench-%%020d"}}', n)
  return wrk.format("PATCH", path, {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end
"""


def phase_write(deadline):
    prepared()
    server, tenant = STATE["small"][0], STATE["small"][1]
    mock = STATE["mock"]
    tenant.login()
    orgs = [tenant.create_org(f"Writer {n}") for n in range(WRITE_ORGS)]
    paths = ",".join(f'"/api/v1/orgs/{org}/integrations/openai"' for org in orgs)
    script = os.path.join(SCRATCH, "write.lua")
    with open(script, "w") as f:
        f.write(WRITE_SCRIPT % (paths, min(2, CLIENTS), tenant.login()))
    status, body, _ = http("PATCH", f"{server.base}/api/v1/orgs/{orgs[0]}/integrations/openai", tenant.token, {"credentials": {"api_key": "sk-bench-00000000000000000001"}})
    if status != 200 or body.get("status") != "connected":
        raise RuntimeError(f"saving an API key: {status} {str(body)[:200]}")
    raw = [wrk(f"{mock.base}/v1/models", CLIENTS, max(1, DURATION // 2))["rps"]]
    runs = []
    for _ in range(RUNS):
        check_time(deadline)
        runs.append(wrk(server.base, CLIENTS, DURATION, script=script))
    p = "write"
    rejected = sum(f["non2xx"] for f in runs)
    RESULTS.add(p, f"PATCH saving an API key at {CLIENTS} connections", fmt(median([f["rps"] for f in runs]), 0, " req/s"),
                note=f"{WRITE_ORGS} orgs in turn, verified against the stand-in; {rejected} non-2xx (conflicts) of {sum(f['requests'] for f in runs)}")
    RESULTS.add(p, "PATCH p50 / p99", f"{fmt(median([f['p50'] for f in runs]))} ms / {fmt(median([f['p99'] for f in runs]))} ms")
    RESULTS.add(p, "the stand-in's verify endpoint alone", fmt(median(raw), 0, " req/s"), note="Python http.server: a ceiling for the PATCH rate")


def seed_sweep(url, count, deadline):
    """`count` organizations each with a LinkedIn connection holding sealed tokens."""
    psql(url, f"""
      INSERT INTO organizations (id, name, created_at, updated_at)
      SELECT gen_random_uuid(), 'Sweep ' || n, now(), now() FROM generate_series(1, {count}) n;
      INSERT INTO connections (id, org_id, provider, status, enabled, config, scopes, token_expires_at,
          last_tested_at, last_health_check_at, connected_at, created_at, updated_at, version)
      SELECT gen_random_uuid(), id, 'linkedin', 'connected', true, '{{}}', 'openid profile email',
          now() + interval '4 minutes', now(), now(), now() - interval '1 hour', now() - interval '1 hour', now() - interval '1 hour', 1
      FROM organizations;
    """, timeout=max(1, deadline - time.monotonic()))
    rows = [r.split("|") for r in psql(url, "SELECT id, org_id FROM connections").splitlines() if r]
    items, meta = [], []
    for cid, org in rows:
        for field in ("access_token", "refresh_token"):
            items.append((f"{org}|linkedin|{field}".encode(), f"bench-{field[:1]}-{cid}".encode()))
            meta.append((cid, org, field))
    lines = []
    for start in range(0, len(items), 20000):
        check_time(deadline)
        sealed = gcm.seal_many(KEYS.key, items[start:start + 20000])
        for (cid, org, field), value in zip(meta[start:start + 20000], sealed):
            lines.append("\t".join([str(uuid.uuid4()), org, cid, field, gcm.stored("k1", value), "k1", cid[-4:], "2026-01-01 00:00:00+00"]))
    psql(url, "COPY connection_secrets (id, org_id, connection_id, field, ciphertext, key_id, last4, updated_at) FROM STDIN",
         stdin="\n".join(lines) + "\n", timeout=max(1, deadline - time.monotonic()))
    psql(url, "VACUUM ANALYZE")


def make_due(url):
    """Every sweep connection due now: issued an hour ago, expiring in 4 minutes, no lease."""
    psql(url, """
      UPDATE connections SET status = 'connected', enabled = true, token_expires_at = now() + interval '4 minutes',
        refresh_lease_owner = NULL, refresh_claimed_until = NULL, refresh_not_before = NULL,
        refresh_attempts_day = NULL, refresh_attempts_today = 0, refresh_failures = 0, last_health_check_at = now();
      UPDATE connection_secrets SET updated_at = now() - interval '1 hour';
    """)
    psql(url, "VACUUM ANALYZE connections")


def renewed_count(url):
    return int(psql(url, "SELECT count(*) FROM connections WHERE token_expires_at > now() + interval '30 minutes'"))


def token_raw_rate(mock, connections, seconds):
    script = os.path.join(SCRATCH, "token.lua")
    with open(script, "w") as f:
        f.write('wrk.method = "POST"\nwrk.body = "grant_type=refresh_token&refresh_token=raw"\n'
                'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n')
    meter = CpuMeter()
    figures = wrk(f"{mock.base}/oauth/v2/accessToken", connections, seconds, script=script)
    cost = meter.per(figures["requests"])
    mock.reset()
    return figures["rps"], cost["client"] + cost["rest"]


def phase_sweep(deadline):
    mock = STATE.setdefault("mock", Mock())
    url = create_database("sweep")
    first = Server("sweep-migrate", url, mock.port)
    first.wait_ready()
    first.stop()
    seed_sweep(url, SWEEP, deadline)
    results = {1: [], 2: []}
    raw = {1: [], 2: []}
    hwm, memory = [], []
    split, raw_cpu = [], []
    for run in range(RUNS):
        for replicas in (1, 2):
            check_time(deadline)
            rate, cost = token_raw_rate(mock, WORKER_CONCURRENCY * replicas, max(1, DURATION // 2))
            raw[replicas].append(rate)
            raw_cpu.append(cost)
            make_due(url)
            mock.reset()
            servers = []
            for n in range(replicas):
                servers.append(Server(f"sweep{replicas}-{n}", url, mock.port, worker=True, extra={"PLUGBOARD_REFRESH_INTERVAL_SECS": "1"}))
                servers[-1].wait_ready()
            profile = Profile(max(1, DURATION // 2)) if replicas == 1 and run == 0 else None
            meter = CpuMeter(servers[0].process.pid) if replicas == 1 else None
            try:
                while True:
                    stats = mock.stats()
                    if stats["tokens"] >= SWEEP:
                        break
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{stats['tokens']} of {SWEEP} renewed")
                    time.sleep(0.2)
                # The last renewals are saved after their token request.
                settle = time.monotonic() + 30
                while renewed_count(url) < SWEEP and time.monotonic() < settle:
                    time.sleep(0.2)
                hwm.append(max(s.hwm() for s in servers))
                memory.append(rss_parts_mb(servers[0].process.pid))
                if meter:
                    # The harness's own finished children (psql counting renewals) go with the rest.
                    cost = meter.per(SWEEP)
                    split.append((cost["own"], cost["client"] + cost["rest"]))
                if profile:
                    RESULTS.sections.append(profile.section("Where the sweep's time goes", f"`perf record -a -e cpu-clock` over the first {max(1, DURATION // 2)} s of one replica's sweep (the stand-in provider is `python3`, PostgreSQL is `postgres`)."))
            finally:
                for s in servers:
                    s.stop()
            stats = mock.stats()
            rate = (stats["tokens"] - 1) / max(1e-6, stats["last"] - stats["first"])
            renewed = renewed_count(url)
            if renewed < SWEEP or stats["tokens"] != SWEEP:
                raise RuntimeError(f"{replicas} replica(s): {renewed} of {SWEEP} renewed, {stats['tokens']} token requests")
            results[replicas].append(rate)
    p = "sweep"
    failed = int(psql(url, "SELECT count(*) FROM connection_events WHERE success = false"))
    own, rest = (median([c[i] for c in split]) * 1000 for i in (0, 1))
    raw_ms = median(raw_cpu) * 1000
    why = (f"CPU-bound on shared cores: a renewal costs the machine {fmt(own + rest, 2)} ms of CPU (below), a raw token request "
           f"{fmt(raw_ms, 3)} ms (the stand-in and wrk), {fmt((own + rest) / max(raw_ms, 1e-9), 0)}× less; see where the sweep's time goes")
    for replicas in (1, 2):
        rate, r = median(results[replicas]), median(raw[replicas])
        RESULTS.add(p, f"{SWEEP:,} due connections, {replicas} replica{'s' if replicas > 1 else ''}", fmt(rate, 0, " renewals/s"),
                    note=f"each renewed once; stand-in's raw rate {fmt(r, 0)} req/s at {WORKER_CONCURRENCY * replicas} connections")
        RESULTS.add(p, f"sweep ÷ raw token rate, {replicas} replica{'s' if replicas > 1 else ''}", fmt(rate / r), "≥ 0.5", rate / r >= 0.5, note=why)
    RESULTS.add(p, "machine CPU per renewal, 1 replica: Plugboard / PostgreSQL, stand-in and the rest", f"{fmt(own, 3)} / {fmt(rest, 3)} ms",
                note="a renewal is CPU-bound on the same cores as the stand-in: it claims, reads, checks its lease, presents the token, then saves the connection, its secrets and an event in one transaction and releases the lease")
    RESULTS.add(p, "failed renewals", str(failed), "0", failed == 0)
    peak = max(hwm)
    anon, mapped = (median([m.get(k, 0) for m in memory]) for k in ("RssAnon", "RssFile"))
    RESULTS.add(p, "peak RSS during the sweep (VmHWM, largest replica)", fmt(peak, 1, " MB"), "≤ 40 MB", peak <= 40,
                note=f"at the end of a sweep: {fmt(anon, 1)} MB anonymous, {fmt(mapped, 1)} MB file-backed (the mapped binary)")


def phase_proxy(deadline):
    mock = Mock()
    url = create_database("proxy")
    server = Server("proxy", url, mock_port=mock.port)
    server.wait_ready()
    server.database_url = url
    tenant = Tenant(server, "proxy@example.com")
    status, body, _ = http("PATCH", f"{server.base}/api/v1/orgs/{tenant.org_id}/integrations/openai", tenant.token,
                           {"credentials": {"api_key": "sk-bench-proxy-0000000000000001"}})
    if status != 200 or body.get("status") != "connected":
        raise RuntimeError(f"connecting the stand-in: {status} {str(body)[:200]}")
    proxied = f"{server.base}/api/v1/orgs/{tenant.org_id}/integrations/openai/proxy/models"
    direct = f"{mock.base}/v1/models"
    status, body, _ = http("GET", proxied, tenant.token)
    if status != 200 or body.get("data", [{}])[0].get("owned_by") != "bench-org":
        raise RuntimeError(f"the proxy answered {status} {str(body)[:200]}")
    ratios, through, straight, one_through, one_straight = [], [], [], [], []
    for _ in range(RUNS):
        check_time(deadline)
        s = wrk(direct, CLIENTS, DURATION)
        t = wrk(proxied, CLIENTS, DURATION, tenant.token)
        straight.append(s["rps"])
        through.append(t["rps"])
        ratios.append(t["rps"] / s["rps"] if s["rps"] else None)
        one_straight.append(wrk(direct, 1, DURATION)["p50"])
        one_through.append(wrk(proxied, 1, DURATION, tenant.token)["p50"])
    ratio = median(ratios)
    added = median([t - s for t, s in zip(one_through, one_straight)])
    # The load above had its own peak; this one is the stream's.
    before = server.hwm()
    server.reset_hwm()
    started = time.monotonic()
    request = urllib.request.Request(f"{server.base}/api/v1/orgs/{tenant.org_id}/integrations/openai/proxy/big?mb=50")
    request.add_header("authorization", f"Bearer {tenant.token}")
    received = 0
    with urllib.request.urlopen(request, timeout=120) as response:
        while chunk := response.read(1 << 20):
            received += len(chunk)
    seconds = time.monotonic() - started
    peak = server.hwm()
    server.stop()
    p = "proxy"
    RESULTS.add(p, f"through the proxy ÷ straight to the stand-in, {CLIENTS} connections", fmt(ratio), "≥ 0.5", ratio is not None and ratio >= 0.5,
                note=f"{fmt(median(through), 0)} ÷ {fmt(median(straight), 0)} req/s (OpenAI's models list; the stand-in is Python's http.server)")
    RESULTS.add(p, "p50 the proxy adds, one connection", fmt(added, 3, " ms"), "≤ 1 ms", added is not None and added <= 1,
                note=f"{fmt(median(one_through), 3)} ms through ÷ {fmt(median(one_straight), 3)} ms straight")
    RESULTS.add(p, "peak RSS while a 50 MB answer streams through", fmt(peak, 1, " MB"), "≤ 64 MB", peak <= 64,
                note=f"{fmt(received / 1048576, 1)} MB in {fmt(seconds, 2)} s; the load before it peaked at {fmt(before, 1)} MB")


def vm_rss_mb(pid):
    """Resident set size (VmRSS) of a process now, in MB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def raw_post(port, path, body, source):
    """One POST on its own connection from the loopback address `source`: the status, or the
    exception's name when the connection failed (a reset, a refusal)."""
    payload = json.dumps(body).encode()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
        writer.write(f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode() + payload)
        await writer.drain()
        head = await reader.readline()
        await reader.read()
        writer.close()
        return int(head.split()[1])
    except (OSError, asyncio.IncompleteReadError, IndexError, ValueError) as error:
        return type(error).__name__


def burst(port, path, bodies, sources):
    """Sends every body at once, each from its source address; the answers by status."""
    async def everything():
        return await asyncio.gather(*(raw_post(port, path, b, s) for b, s in zip(bodies, sources)))
    answers = {}
    for status in asyncio.run(everything()):
        answers[status] = answers.get(status, 0) + 1
    return answers


def timed_post(port, path, body, source):
    """One POST from `source` on a fresh connection: (status, milliseconds)."""
    started = time.monotonic()
    connection = HTTPConnection("127.0.0.1", port, timeout=60, source_address=(source, 0))
    try:
        connection.request("POST", path, json.dumps(body), {"content-type": "application/json"})
        status = connection.getresponse().status
    finally:
        connection.close()
    return status, (time.monotonic() - started) * 1000


class LoneClient:
    """A person signing up from an address of their own, once at a time (each sign-up from a
    fresh address, so the per-address allowance is never theirs to spend)."""

    def __init__(self, port):
        self.port, self.n = port, 0

    def signup(self):
        self.n += 1
        source = f"127.0.{200 + self.n // 250}.{1 + self.n % 250}"
        body = {"email": f"lone-{self.n}-{uuid.uuid4().hex[:8]}@example.com", "password": PASSWORD, "name": "Lone"}
        return timed_post(self.port, "/api/v1/auth/signup", body, source)


def while_running(work, probe):
    """Runs `work` in a thread and `probe` over and over until it ends; the probe's results."""
    results, thread = [], threading.Thread(target=work)
    thread.start()
    while thread.is_alive():
        results.append(probe())
    thread.join()
    return results


def phase_attack(deadline):
    url = create_database("attack")
    server = Server("attack", url)
    server.wait_ready()
    server.database_url = url
    port = server.port
    start_rss = vm_rss_mb(server.process.pid)
    lone = LoneClient(port)
    tenant = Tenant(server, "owner@example.com")

    def list_ms():
        started = time.monotonic()
        status, _, _ = http("GET", tenant.list_url(), tenant.token)
        return status, (time.monotonic() - started) * 1000

    idle = [lone.signup() for _ in range(5 if TINY else 15)]
    idle_p50 = median([t for s, t in idle if s == 201])
    idle_list = [list_ms() for _ in range(20 if TINY else 200)]
    check_time(deadline)

    statuses = {}

    def count(answers):
        for status, n in answers.items():
            statuses[status] = statuses.get(status, 0) + n

    def signups(spread):
        bodies = [{"email": f"attack-{spread}-{i}-{uuid.uuid4().hex[:6]}@example.com", "password": PASSWORD, "name": "A"} for i in range(ATTACK)]
        sources = [f"127.0.1.{1 + i % 250}" if spread else "127.0.0.1" for i in range(ATTACK)]
        return lambda: count(burst(port, "/api/v1/auth/signup", bodies, sources))

    def logins():
        bodies = [{"email": f"nobody-{i}@example.com", "password": "wrong horse battery"} for i in range(ATTACK)]
        sources = [f"127.0.1.{1 + i % 250}" for i in range(ATTACK)]
        count(burst(port, "/api/v1/auth/login", bodies, sources))

    during = while_running(signups(False), lone.signup)
    during_list = while_running(signups(True), list_ms)
    time.sleep(1)
    during_list += while_running(logins, list_ms)
    check_time(deadline)
    peak = server.hwm()
    time.sleep(5)
    after = vm_rss_mb(server.process.pid)
    parts = rss_parts_mb(server.process.pid)
    server.stop()

    p = "attack"
    answered = sum(n for s, n in statuses.items() if s in (201, 401, 429, 503))
    total = sum(statuses.values())
    shown = ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items(), key=str))
    RESULTS.add(p, f"every answer 201, 401, 429 or 503 ({3 * ATTACK} requests)", f"{answered} of {total}", f"{total} of {total}", answered == total,
                note=f"{shown}; sign-ups from one address, then spread over 250 addresses, then wrong log-ins spread likewise")
    RESULTS.add(p, "peak RSS during the bursts (VmHWM)", fmt(peak, 1, " MB"), "≤ 128 MB", peak <= 128,
                note=f"{fmt(start_rss, 1)} MB when started; password hashes run on {os.cpu_count()} thread(s) with a queue of 8 each")
    RESULTS.add(p, "RSS five seconds after the bursts", fmt(after, 1, " MB"), "≤ 64 MB", after <= 64,
                note=f"{fmt(parts.get('RssAnon'), 1)} MB anonymous, {fmt(parts.get('RssFile'), 1)} MB file-backed (the mapped binary)")
    lone_p50 = median([t for s, t in during if s == 201])
    met = lone_p50 is not None and idle_p50 is not None and lone_p50 <= 2 * idle_p50
    RESULTS.add(p, "one other client's sign-up p50 during the one-address burst", f"{fmt(lone_p50)} ms (idle {fmt(idle_p50)} ms)", "≤ 2 × idle", met,
                note=f"{len(during)} sign-ups during the burst from addresses of their own, answered " + ", ".join(f"{s}: {sum(1 for x, _ in during if x == s)}" for s in sorted({x for x, _ in during})))
    p99 = lambda values: statistics.quantiles(values, n=100)[98] if len(values) >= 2 else (values[0] if values else None)
    RESULTS.add(p, "the list's p99 during the spread bursts", f"{fmt(p99([t for s, t in during_list if s == 200]))} ms (idle {fmt(p99([t for s, t in idle_list if s == 200]))} ms)",
                note=f"one connection, sequential, {len(during_list)} requests")


def phase_startup(deadline):
    fresh, again = [], []
    for n in range(STARTS):
        check_time(deadline)
        for times in (fresh, again):  # a fresh data folder, then the same one started again
            server = Server(f"startup{n}", None, data_dir=os.path.join(SCRATCH, f"startup{n}"))
            try:
                times.append(server.wait_ready(timeout=60, poll=0.002) * 1000)
            finally:
                server.stop()
    t, r = median(fresh), median(again)
    RESULTS.add("startup", "start to /readyz on SQLite, migrations included", fmt(t, 0, " ms"), "≤ 200 ms", t <= 200,
                f"fresh data folder each time, median of {STARTS}; {fmt(max(t - r, 0), 0)} ms more than a start on the existing schema")
    RESULTS.add("startup", "start to /readyz on SQLite, schema already there", fmt(r, 0, " ms"),
                note="the same folder started again: what the migrations themselves cost is the difference")


def phase_spa(deadline):
    dist = os.path.join(ROOT, "frontend", "dist")
    index = os.path.join(dist, "index.html")
    if not os.path.exists(index):
        RESULTS.add("spa", "initial JS (gzip)", "not measured", note="frontend/dist is not built (make web builds it)")
        return
    html = open(index).read()
    # As frontend/scripts/report-size.mjs counts it (npm run build prints it): the entry and
    # what it imports statically, each gzipped at zlib's default level; budget 100 KB.
    scripts = list(dict.fromkeys(re.findall(r'<(?:script|link)[^>]+(?:src|href)="/([^"]+\.js)"', html)))
    total_raw = total_gz = 0
    for src in scripts:
        data = open(os.path.join(dist, src), "rb").read()
        total_raw += len(data)
        total_gz += len(gzip.compress(data, 6))
    kb = total_gz / 1024
    RESULTS.add("spa", "initial JS (gzip)", f"{kb:.1f} KB", "≤ 100 KB (the build's budget)", kb <= 100,
                f"{len(scripts)} file(s) from frontend/dist, {total_raw / 1024:.1f} KB before gzip")


# ---------------------------------------------------------------------------------------------


def busiest(seconds=2.0, top=8):
    """The processes that used the most CPU over the next `seconds` (percent of one CPU)."""
    def sample():
        ticks = {}
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    raw = open(f"/proc/{pid}/stat").read()
                except OSError:
                    continue
                name = raw[raw.index("(") + 1:raw.rindex(")")]
                fields = raw[raw.rindex(")") + 2:].split()
                ticks[pid] = (name, int(fields[11]) + int(fields[12]))
        return ticks
    first = sample()
    time.sleep(seconds)
    second = sample()
    hz = os.sysconf("SC_CLK_TCK")
    used = [(name, (t - first[pid][1]) / hz / seconds * 100) for pid, (name, t) in second.items() if pid in first]
    return sorted(used, key=lambda u: -u[1])[:top]


def machine():
    def first(path, key):
        try:
            for line in open(path):
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return "unknown"

    busy = ", ".join(f"{name} {pct:.0f}%" for name, pct in busiest() if pct >= 5)
    return {
        "nproc": os.cpu_count(),
        "memory": f"{int(first('/proc/meminfo', 'MemTotal').split()[0]) / 1048576:.1f} GiB",
        "cpu": first("/proc/cpuinfo", "model name"),
        "kernel": platform.release(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load": open("/proc/loadavg").read().split()[:3],
        "busy": busy or "none above 5 % of a CPU",
        "postgres": psql(ADMIN_URL, "SHOW server_version", check=False),
        "wrk": (subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines() or ["?"])[0].split(" [")[0],
    }


def source_revision():
    """The commit the tree is at, and whether it has changes beside it."""
    def git(*args):
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""
    commit = git("rev-parse", "--short", "HEAD") or "an unknown commit"
    return commit + (" with uncommitted changes" if git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/results") else "")


def write_results(before, after, elapsed):
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    sizes = (f"BENCH_SIZE={'tiny' if TINY else 'full'}: {RUNS} run(s) of {DURATION} s per figure, {CLIENTS} connections, "
             f"{SMALL_ORGS:,} and {LARGE_ORGS:,} orgs, {EVENTS_PER_CONNECTION} event(s) per connection, {SWEEP:,} due connections, "
             f"{WRITE_ORGS} writer orgs")
    text = [
        "# Plugboard benchmarks",
        "",
        f"Written by `make bench` ({os.path.relpath(__file__, ROOT)}) on {before['date']} in {elapsed / 60:.1f} min.",
        "",
        "## Machine",
        "",
        f"- {before['nproc']} CPUs: {before['cpu']}; memory {before['memory']}; kernel {before['kernel']}",
        f"- PostgreSQL {before['postgres']} (the server the binary uses, also `pgbench`'s), {before['wrk']}",
        f"- load average at start {' '.join(before['load'])}, at the end {' '.join(after['load'])}",
        f"- busiest processes over 2 s at start: {before['busy']}; at the end: {after['busy']}",
        f"- binary: {os.path.relpath(BIN, ROOT) if BIN.startswith(ROOT) else BIN}, of the code at {source_revision()}",
        f"- sizes: {sizes}",
        "",
        "## Figures",
        "",
        RESULTS.table(),
        "",
    ]
    for title, body in RESULTS.sections:
        text += [f"## {title}", "", body, ""]
    with open(OUT, "w") as f:
        f.write("\n".join(text))
    print(f"==> results written to {os.path.relpath(OUT, ROOT)}")


def main():
    for tool in ("wrk", "pgbench", "psql", "openssl"):
        if not shutil.which(tool):
            sys.exit(f"bench: `{tool}` is missing (Debian: wrk, postgresql-client, openssl)")
    if not os.access(BIN, os.X_OK):
        sys.exit(f"bench: no binary at {BIN} (cargo build --release --bin plugboard)")
    psql(ADMIN_URL, "SELECT 1")
    gcm.self_test()
    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    before = machine()
    print(f"==> Plugboard benchmarks ({'tiny' if TINY else 'full'} size) with {BIN}; databases {TAG}_*", flush=True)
    if {"read", "scale", "write"} & set(PHASES):
        PHASES.append("seed")
        run_phase("seed", phase_seed, SEED_TIMEOUT)
    run_phase("read", phase_read, PHASE_TIMEOUT)
    run_phase("scale", phase_scale, PHASE_TIMEOUT)
    run_phase("write", phase_write, PHASE_TIMEOUT)
    for name in ("small", "large"):
        if name in STATE:
            STATE[name][0].stop()
    run_phase("sweep", phase_sweep, PHASE_TIMEOUT + SEED_TIMEOUT)
    run_phase("proxy", phase_proxy, PHASE_TIMEOUT)
    run_phase("attack", phase_attack, PHASE_TIMEOUT)
    run_phase("startup", phase_startup, PHASE_TIMEOUT)
    run_phase("spa", phase_spa, PHASE_TIMEOUT)
    after = machine()
    print()
    print(RESULTS.table())
    print()
    write_results(before, after, time.monotonic() - started)
    if RESULTS.failures:
        print(f"bench: phase(s) that could not run: {', '.join(RESULTS.failures)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
