#!/usr/bin/env python3
"""A stand-in provider on loopback for the benchmarks (Python standard library only).

- `POST` anything (a token endpoint): answers a fresh access and refresh token, 1 hour;
- `GET /v1/models` (OpenAI's verify request): answers one model, owned by `bench-org`;
- `GET /v1/big?mb=N`: N MB of JSON-safe bytes with their length declared, written 64 KB at a
  time (what the proxy streams through);
- `GET /_stats`: how many token requests it has answered, and when the first and last came
  (monotonic seconds), so the harness measures a sweep's rate at the provider's side;
- `POST /_reset`: zeroes those counters.

Usage: mock_provider.py PORT
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATS = {"tokens": 0, "first": None, "last": None, "presented": 0}
MODELS = json.dumps({"object": "list", "data": [{"id": "gpt-4o", "object": "model", "owned_by": "bench-org"}]}).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without this, Nagle's algorithm and delayed
    # ACKs hold every answer for 40 ms.
    disable_nagle_algorithm = True

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/_stats":
            with LOCK:
                body = json.dumps(STATS).encode()
            self.answer(200, body)
        elif self.path.startswith("/v1/models"):
            self.answer(200, MODELS)
        elif self.path.startswith("/v1/big"):
            size = int(self.path.partition("mb=")[2] or 1) * 1024 * 1024
            chunk = b"x" * 65536
            self.send_response(200)
            self.send_header("content-type", "application/octet-stream")
            self.send_header("content-length", str(size))
            self.end_headers()
            for _ in range(size // len(chunk)):
                self.wfile.write(chunk)
        else:
            self.answer(200, b'{"sub":"bench","name":"Bench"}')

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        form = self.rfile.read(length) if length else b""
        if self.path == "/_reset":
            with LOCK:
                STATS.update(tokens=0, first=None, last=None, presented=0)
            self.answer(200, b"{}")
            return
        now = time.monotonic()
        with LOCK:
            STATS["tokens"] += 1
            n = STATS["tokens"]
            if STATS["first"] is None:
                STATS["first"] = now
            STATS["last"] = now
            if b"refresh_token=" in form:
                STATS["presented"] += 1
        body = json.dumps({
            "access_token": f"bench-at-{n}",
            "refresh_token": f"bench-rt-{n}",
            "token_type": "Bearer",
            "expires_in": 3600,
        }).encode()
        self.answer(200, body)

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def handle_error(self, request, client_address):
        pass  # clients (wrk) drop keep-alive connections when a run ends


if __name__ == "__main__":
    server = Server(("127.0.0.1", int(sys.argv[1])), Handler)
    print("ready", flush=True)
    server.serve_forever()
