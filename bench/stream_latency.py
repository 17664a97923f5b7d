#!/usr/bin/env python3
"""Per-event latency that a proxy adds to an SSE stream, measured end to end on one clock.

This process is both ends: a fake upstream (OpenAI or Anthropic SSE, chosen by the request path:
/v1/messages -> Anthropic, anything else -> OpenAI) and the client. For each streamed response the
upstream sends the text deltas one at a time, each only after the client has received the previous
client event, so every delta crosses the proxy alone (no coalescing, no queueing). The latency of
delta k is (client received the event it became) - (upstream wrote it), both from
time.perf_counter_ns() in this process. Modes, run one stream at a time, interleaved:

  direct       client -> fake upstream (the harness's own cost: two Python threads, loopback)
  NAME=PATH    client -> proxy at PATH (e.g. passthrough=/probe-openai, translated=/probe-anthropic)

Prints one JSON line per mode: {"mode","streams","events","p50_us","p90_us","p99_us","max_us","mean_us"}.
Used by bench/run (bench/README.md).
"""
import argparse
import json
import socket
import threading
import time

PIECE = ("The intermittent 502s usually mean the load balancer reuses a connection that the pod "
         "has already closed. Compare the two idle timeouts first: the balancer's keep-alive ")

OPENAI_HEAD = ('{"id":"chatcmpl-probe","object":"chat.completion.chunk","created":1741569952,'
               '"model":"gpt-4o-mini","choices":')


def openai_events(n):
    pre = ["data: " + OPENAI_HEAD + '[{"index":0,"delta":{"role":"assistant","content":""},'
           '"logprobs":null,"finish_reason":null}]}\n\n']
    deltas = ["data: " + OPENAI_HEAD + '[{"index":0,"delta":{"content":' + json.dumps(PIECE) +
              '},"logprobs":null,"finish_reason":null}]}\n\n' for _ in range(n)]
    post = ["data: " + OPENAI_HEAD + '[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}\n\n',
            "data: [DONE]\n\n"]
    return pre, deltas, post


def anthropic_events(n):
    def ev(name, data):
        return "event: %s\ndata: %s\n\n" % (name, data)
    pre = [ev("message_start", '{"type":"message_start","message":{"id":"msg_probe","type":"message",'
              '"role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,'
              '"stop_sequence":null,"usage":{"input_tokens":312,"output_tokens":1}}}') +
           ev("content_block_start", '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}')]
    deltas = [ev("content_block_delta", '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta",'
                 '"text":' + json.dumps(PIECE) + '}}') for _ in range(n)]
    post = [ev("content_block_stop", '{"type":"content_block_stop","index":0}') +
            ev("message_delta", '{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},'
               '"usage":{"output_tokens":%d}}' % (20 * n)) +
            ev("message_stop", '{"type":"message_stop"}')]
    return pre, deltas, post


class Upstream:
    def __init__(self, port, events):
        self.events = events
        self.ack = threading.Semaphore(0)  # released by the client once per client event received
        self.sends = []                    # perf_counter_ns() of each delta of the current stream
        self.listener = socket.create_server(("127.0.0.1", port))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            conn, _ = self.listener.accept()
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                head, _, buf = buf.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
                if headers.get("transfer-encoding", "").lower() == "chunked":
                    while b"0\r\n\r\n" not in buf:
                        buf += conn.recv(65536)
                    buf = buf.split(b"0\r\n\r\n", 1)[1]
                else:
                    length = int(headers.get("content-length", "0"))
                    while len(buf) < length:
                        buf += conn.recv(65536)
                    buf = buf[length:]
                pre, deltas, post = self.events(path.startswith("/v1/messages"))
                self.respond(conn, pre, deltas, post)
        except OSError:
            pass
        finally:
            conn.close()

    @staticmethod
    def chunk(text):
        data = text.encode()
        return b"%x\r\n%s\r\n" % (len(data), data)

    def respond(self, conn, pre, deltas, post):
        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
                     b"transfer-encoding: chunked\r\n\r\n" + self.chunk("".join(pre)))
        self.ack.acquire(timeout=2)  # the role chunk reached the client
        for d in deltas:
            data = self.chunk(d)
            self.sends.append(time.perf_counter_ns())
            conn.sendall(data)
            self.ack.acquire(timeout=2)
        conn.sendall(self.chunk("".join(post)) + b"0\r\n\r\n")


class Client:
    def __init__(self, port, path, body):
        self.port, self.path, self.body = port, path, body
        self.sock = None

    def connect(self):
        self.sock = socket.create_connection(("127.0.0.1", self.port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def stream(self, upstream):
        """One streamed request; returns the receive times of the client events."""
        if self.sock is None:
            self.connect()
        req = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               "Accept: text/event-stream\r\nAuthorization: Bearer sk-probe\r\nContent-Length: %d\r\n\r\n"
               % (self.path, len(self.body))).encode() + self.body
        self.sock.sendall(req)
        buf = b""
        while b"\r\n\r\n" not in buf:
            data = self.sock.recv(65536)
            if not data:
                raise RuntimeError("connection closed before the response headers")
            buf += data
        head, _, buf = buf.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError("%s answered %s" % (self.path, head.split(b"\r\n")[0].decode()))
        recv, seen = [], 0
        while True:
            n = buf.count(b"\n\n")
            if n > seen:
                t = time.perf_counter_ns()
                for _ in range(n - seen):
                    recv.append(t)
                    upstream.ack.release()
                seen = n
            if b"0\r\n\r\n" in buf[-7:] and b"[DONE]" in buf:
                return recv
            data = self.sock.recv(65536)
            if not data:
                raise RuntimeError("connection closed mid-stream")
            buf += data


def pct(sorted_us, p):
    return sorted_us[min(len(sorted_us) - 1, int(p * (len(sorted_us) - 1) + 0.5))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen-port", type=int, default=0, help="the fake upstream's port")
    ap.add_argument("--proxy-port", type=int, default=0)
    ap.add_argument("--mode", action="append", default=[], help="NAME=PATH through the proxy (repeatable)")
    ap.add_argument("--streams", type=int, default=200, help="streams per mode")
    ap.add_argument("--deltas", type=int, default=16, help="text deltas per stream")
    ap.add_argument("--warmup", type=int, default=20, help="unmeasured streams per mode first")
    a = ap.parse_args()

    upstream = Upstream(a.listen_port, lambda anthropic: (anthropic_events if anthropic else openai_events)(a.deltas))
    body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Explain the 502s."}],
                       "max_tokens": 512, "stream": True}).encode()
    clients = {"direct": Client(upstream.port, "/v1/chat/completions", body)}
    for m in a.mode:
        name, _, path = m.partition("=")
        clients[name] = Client(a.proxy_port, path + "/v1/chat/completions", body)
    lat = {name: [] for name in clients}
    for i in range(a.warmup + a.streams):
        for name, client in clients.items():  # interleaved, one stream at a time
            upstream.sends = []
            upstream.ack = threading.Semaphore(0)  # releases for the trailing events must not carry over
            recv = client.stream(upstream)
            sends = upstream.sends
            if len(recv) < len(sends) + 1:
                raise RuntimeError("%s: %d client events for %d deltas" % (name, len(recv), len(sends)))
            if i >= a.warmup:
                lat[name].extend((recv[1 + k] - s) / 1e3 for k, s in enumerate(sends))
    for name, values in lat.items():
        v = sorted(values)
        print(json.dumps({"mode": name, "streams": a.streams, "events": len(v), "mean_us": sum(v) / len(v),
                          "p50_us": pct(v, 0.5), "p90_us": pct(v, 0.9), "p99_us": pct(v, 0.99), "max_us": v[-1]}))


if __name__ == "__main__":
    main()
