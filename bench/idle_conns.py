#!/usr/bin/env python3
"""Idle keep-alive connections for bench/run's memory-per-connection figure (python3 stdlib only).

Opens --count connections to 127.0.0.1:--port and sends one small chat completion on each, one at a
time (so the proxy needs a single upstream connection, not one per client), reading each response
in full: every connection is then a real, idle HTTP/1.1 keep-alive connection. Then it prints one
JSON line, creates --ready-file and holds the connections until --stop-file exists (or --max-hold
seconds pass), checks that the proxy kept them open, prints a second JSON line and closes them.
With --hold 0 it closes them at once (warm-up).
"""
import argparse
import json
import os
import resource
import socket
import sys
import time

BODY = json.dumps({
    "model": "gpt-4o-mini",
    "messages": [
        {"role": "system", "content": "You are a terse assistant."},
        {"role": "user", "content": "Say hello in one word."},
    ],
    "temperature": 0.2,
    "max_tokens": 16,
}).encode()


def request(port: int) -> bytes:
    return (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(BODY)}\r\n\r\n"
    ).encode() + BODY


def read_response(sock: socket.socket) -> tuple[int, bool]:
    """Reads one response (Content-Length or chunked); returns (status, keep_alive)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the response headers")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        headers[k.strip().lower()] = v.strip().lower()
    if b"content-length" in headers:
        n = int(headers[b"content-length"])
        while len(rest) < n:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed inside the body")
            rest += chunk
    elif headers.get(b"transfer-encoding") == b"chunked":
        while not rest.endswith(b"0\r\n\r\n"):
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed inside the body")
            rest += chunk
    return status, headers.get(b"connection") != b"close"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--hold", type=int, default=1, help="0: close at once")
    ap.add_argument("--ready-file")
    ap.add_argument("--stop-file")
    ap.add_argument("--max-hold", type=float, default=120)
    args = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < args.count + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.count + 1024), hard))

    req = request(args.port)
    socks, ok, bad_status, closed = [], 0, 0, 0
    t0 = time.monotonic()
    for _ in range(args.count):
        s = socket.create_connection(("127.0.0.1", args.port), timeout=10)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(req)
        status, keep = read_response(s)
        if status == 200:
            ok += 1
        else:
            bad_status += 1
        if not keep:
            closed += 1
        socks.append(s)
    summary = {"open": len(socks), "ok": ok, "bad_status": bad_status, "server_close": closed,
               "seconds": round(time.monotonic() - t0, 3)}
    print(json.dumps(summary), flush=True)

    if args.hold:
        if args.ready_file:
            with open(args.ready_file, "w") as f:
                f.write(json.dumps(summary) + "\n")
        deadline = time.monotonic() + args.max_hold
        while time.monotonic() < deadline and not (args.stop_file and os.path.exists(args.stop_file)):
            time.sleep(0.05)
        still_open = 0
        for s in socks:
            s.setblocking(False)
            try:
                still_open += 0 if s.recv(1) == b"" else 1  # data on an idle connection: count it open
            except BlockingIOError:
                still_open += 1
            except OSError:
                pass
        print(json.dumps({"still_open": still_open}), flush=True)
    for s in socks:
        s.close()
    return 0 if ok == args.count else 1


if __name__ == "__main__":
    sys.exit(main())
