"""Seals secrets the way Plugboard stores them, for seeding (Python standard library + openssl).

A stored secret reads `v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`: AES-256-GCM with a
96-bit random nonce and the additional authenticated data `org_id|provider|field`. Python's
standard library has no AES, so the block cipher comes from the `openssl` command in one batch
(ECB over every counter block of every secret) and GCM's counter mode and GHASH are done here.
The server itself opens what this seals when it renews the tokens, so a mistake shows at once.
"""

import base64
import os
import subprocess

_R = 0xE1000000000000000000000000000000


def _mul(x, y):
    """Multiplication in GF(2^128) with GCM's bit order."""
    z, v = 0, x
    for i in range(127, -1, -1):
        if (y >> i) & 1:
            z ^= v
        v = (v >> 1) ^ _R if v & 1 else v >> 1
    return z


_TABLES = {}


def _times_h(h):
    """Multiplication by `h`, by bytes: multiplication is linear, so x·h is the sum (XOR) of
    each byte of x, in its place, times h — 16 lookups in tables made once per key."""
    if h not in _TABLES:
        _TABLES.clear()
        _TABLES[h] = [[_mul(b << (8 * (15 - i)), h) for b in range(256)] for i in range(16)]
    tables = _TABLES[h]

    def times(x):
        z = 0
        for i, byte in enumerate(x.to_bytes(16, "big")):
            z ^= tables[i][byte]
        return z
    return times


def _ghash(h, aad, ciphertext):
    times = _times_h(h)
    x = 0
    for data in (aad, ciphertext):
        for i in range(0, len(data), 16):
            block = data[i:i + 16].ljust(16, b"\0")
            x = times(x ^ int.from_bytes(block, "big"))
    lengths = (len(aad) * 8).to_bytes(8, "big") + (len(ciphertext) * 8).to_bytes(8, "big")
    return times(x ^ int.from_bytes(lengths, "big"))


def _aes_ecb(key, blocks):
    """AES-256 of each 16-byte block, in one `openssl` run."""
    out = subprocess.run(
        ["openssl", "enc", "-aes-256-ecb", "-K", key.hex(), "-nopad"],
        input=b"".join(blocks), capture_output=True, check=True,
    ).stdout
    return [out[i:i + 16] for i in range(0, len(out), 16)]


def seal_many(key, items, nonces=None):
    """AES-256-GCM of each `(aad, plaintext)` (bytes); the list of `nonce ‖ ciphertext ‖ tag`."""
    nonces = nonces or [os.urandom(12) for _ in items]
    blocks = [b"\0" * 16]  # H
    for nonce, (_, plaintext) in zip(nonces, items):
        # J0 (for the tag), then one counter block per 16 bytes of plaintext.
        for counter in range(1, 2 + (len(plaintext) + 15) // 16):
            blocks.append(nonce + counter.to_bytes(4, "big"))
    stream = iter(_aes_ecb(key, blocks))
    h = int.from_bytes(next(stream), "big")
    sealed = []
    for nonce, (aad, plaintext) in zip(nonces, items):
        j0 = next(stream)
        pad = b"".join(next(stream) for _ in range((len(plaintext) + 15) // 16))
        ciphertext = bytes(p ^ k for p, k in zip(plaintext, pad))
        tag = (_ghash(h, aad, ciphertext) ^ int.from_bytes(j0, "big")).to_bytes(16, "big")
        sealed.append(nonce + ciphertext + tag)
    return sealed


def stored(key_id, sealed):
    return f"v1.{key_id}.{base64.urlsafe_b64encode(sealed).rstrip(b'=').decode()}"


def self_test():
    """NIST GCM test cases 13, 14 and 16 (AES-256)."""
    zero = bytes(32)
    t13 = seal_many(zero, [(b"", b"")], [bytes(12)])[0]
    assert t13.hex() == "000000000000000000000000" + "530f8afbc74536b9a963b4f1c4cb738b", t13.hex()
    t14 = seal_many(zero, [(b"", bytes(16))], [bytes(12)])[0]
    assert t14[12:].hex() == "cea7403d4d606b6e074ec5d3baf39d18" "d0d1c8a799996bf0265b98b5d48ab919", t14.hex()
    key = bytes.fromhex("feffe9928665731c6d6a8f9467308308" * 2)
    plaintext = bytes.fromhex(
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
        "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39")
    aad = bytes.fromhex("feedfacedeadbeeffeedfacedeadbeefabaddad2")
    t16 = seal_many(key, [(aad, plaintext)], [bytes.fromhex("cafebabefacedbaddecaf888")])[0]
    assert t16[-16:].hex() == "76fc6ece0f4e1768cddf8853bb2d551b", t16[-16:].hex()


if __name__ == "__main__":
    self_test()
    print("ok")
