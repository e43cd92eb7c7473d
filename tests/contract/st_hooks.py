"""schemathesis hooks for tests/contract/run.py (loaded through SCHEMATHESIS_HOOKS): two rules
no schema can say, so that generated requests meet them rather than the checks being loosened.

- An `Idempotency-Key` stands for one request: the same key again with another body is refused
  (`422 idempotency_key_reused`). Generated data repeats small values ("0") across cases, so each
  well-formed key is made unique before it is sent; malformed keys go out as generated, to be
  refused with 400.
- A `cursor` must be one Plugboard gave (it names the last row of a page). A generated one that
  fits the documented alphabet is dropped, asking for the first page instead; one that does not
  fit goes out, to be refused with 400. Page walks are tested in the Rust suite (paging).
"""

import re
import uuid

import schemathesis

IDEMPOTENCY_KEY = re.compile(r"^[!-~]{1,255}$")
CURSOR = re.compile(r"^[A-Za-z0-9_-]+$")


@schemathesis.hook
def before_call(context, case, kwargs):
    headers = case.headers or {}
    for name, value in list(headers.items()):
        if name.lower() == "idempotency-key" and isinstance(value, str) and IDEMPOTENCY_KEY.match(value):
            headers[name] = str(uuid.uuid4())
    query = case.query or {}
    if isinstance(query.get("cursor"), str) and CURSOR.match(query["cursor"]):
        del query["cursor"]
