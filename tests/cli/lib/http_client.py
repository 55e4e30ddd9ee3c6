#!/usr/bin/env python3
"""tests/cli/lib/http_client.py - test helpers for `lmmiqa serve` (stdlib only;
every connection goes to 127.0.0.1 with a timeout).

  http_client.py concurrent PORT CLIENTS REQUESTS EXPECTED.json IMAGE...
      REQUESTS POSTs of the images (round robin) from CLIENTS threads, each
      answer checked against EXPECTED.json ({path: score}); prints a summary,
      exit 1 on any wrong answer.
  http_client.py malformed PORT ROUNDS SECONDS
      truncated multipart bodies, garbage headers, 0-byte and oversized
      bodies, random bytes, early disconnects; bounded by ROUNDS and SECONDS.
  http_client.py bomb FILE   a PNG whose header claims 60000 x 60000 pixels.
  http_client.py inflight PORT PID IMAGE
      sends the request line, headers and half of IMAGE, sends SIGTERM to PID
      (the server), waits, sends the rest; prints the answer's status.
"""

import http.client
import json
import os
import random
import socket
import struct
import sys
import threading
import time
import zlib


def post(port, path, body, ctype, timeout=60):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request("POST", path, body=body, headers={"Content-Type": ctype})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def concurrent(port, clients, requests, expected_file, images):
    expected = json.load(open(expected_file))
    blobs = [(p, open(p, "rb").read()) for p in images]
    lock = threading.Lock()
    state = {"next": 0, "ok": 0, "bad": []}

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            with lock:
                i = state["next"]
                if i >= requests:
                    break
                state["next"] += 1
            path, data = blobs[i % len(blobs)]
            ctype = "image/jpeg" if path.endswith(".jpg") else "image/png"
            try:
                conn.request("POST", "/v1/score", body=data, headers={"Content-Type": ctype})
                r = conn.getresponse()
                body = r.read()
                j = json.loads(body)
                good = r.status == 200 and j["images"][0]["score"] == expected[path]
            except Exception as e:  # a broken answer is a failure, not a crash of the test
                good, body = False, repr(e).encode()
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            with lock:
                if good:
                    state["ok"] += 1
                else:
                    state["bad"].append((i, body[:200]))
        conn.close()

    t0 = time.time()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    print(f"{state['ok']} of {requests} answers right from {clients} clients in "
          f"{time.time() - t0:.1f} s")
    for i, b in state["bad"][:5]:
        print(f"request {i}: {b!r}")
    return 0 if state["ok"] == requests else 1


def raw(port, data, read=True):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(data)
        if read:
            s.shutdown(socket.SHUT_WR)
            out = b""
            while len(out) < 65536:
                chunk = s.recv(4096)
                if not chunk:
                    break
                out += chunk
            return out
    except OSError:
        return b""
    finally:
        s.close()
    return b""


def malformed(port, rounds, seconds):
    rng = random.Random(1)
    deadline = time.time() + seconds
    img = b"\x89PNG\r\n\x1a\n" + bytes(rng.randrange(256) for _ in range(300))
    cases = [
        b"GARBAGE\r\n\r\n",
        b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
        b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n\r\nabc",
        b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=XX\r\n"
        b"Content-Length: 40\r\n\r\n--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n",
        b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data\r\n"
        b"Content-Length: 4\r\n\r\nabcd",
        b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=\"\"\r\n"
        b"Content-Length: 4\r\n\r\nabcd",
        b"POST /v1/score?features=maybe HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd",
        b"POST /v1/extract?extractor=nosuch HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd",
        b"GET /\x00\xff HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\n" + b"X-A: " + b"a" * 20000 + b"\r\n\r\n",
        b"POST /v1/score HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: "
        + str(len(img)).encode() + b"\r\n\r\n" + img,
    ]
    n = 0
    for r in range(rounds):
        if time.time() > deadline:
            break
        for c in cases:
            raw(port, c)
            n += 1
        # random bytes, and a request cut off mid-body
        raw(port, bytes(rng.randrange(256) for _ in range(rng.randrange(1, 2000))))
        raw(port, b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + img[:100],
            read=False)
        n += 2
        body = (b"--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.png\"\r\n\r\n"
                + img[: rng.randrange(len(img))])
        raw(port, b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
            b"boundary=B\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        n += 1
    print(f"{n} malformed requests sent")
    return 0


def bomb(path):
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    ihdr = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1000)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return 0


def inflight(port, pid, image):
    """Half a request body, SIGTERM to the server, then the rest: prints the
    status of the answer ("none" when the connection was cut). The signal is
    sent whatever happens to the connection, so the caller never waits on a
    server that was not told to stop."""
    import signal
    data = open(image, "rb").read()
    out = b""
    signalled = False
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=60)
        s.sendall(b"POST /v1/score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
                  b"Connection: close\r\nContent-Length: " + str(len(data)).encode() + b"\r\n\r\n")
        s.sendall(data[: len(data) // 2])
        time.sleep(0.3)
        os.kill(pid, signal.SIGTERM)
        signalled = True
        time.sleep(0.5)
        s.sendall(data[len(data) // 2:])
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
        s.close()
    except OSError as e:
        print(f"inflight: {e}", file=sys.stderr)
    finally:
        if not signalled:
            os.kill(pid, signal.SIGTERM)
    print(out.split(b" ", 2)[1].decode() if out.startswith(b"HTTP/") else "none")
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "inflight":
        sys.exit(inflight(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
    cmd = sys.argv[1]
    if cmd == "concurrent":
        sys.exit(concurrent(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5],
                            sys.argv[6:]))
    if cmd == "malformed":
        sys.exit(malformed(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])))
    if cmd == "bomb":
        sys.exit(bomb(sys.argv[2]))
    sys.exit(2)
