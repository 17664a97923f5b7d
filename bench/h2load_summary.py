#!/usr/bin/env python3
"""bench/run's h2 scenario: turns one h2load run into the BENCH line bench/chat.lua prints for wrk.

Usage: h2load_summary.py OUTPUT LOG_FILE SECONDS EXIT_CODE
  OUTPUT    h2load's stdout and stderr
  LOG_FILE  its --log-file (per request: start time in µs, status code, µs until the response ended)
  SECONDS   the -D duration asked for (used when h2load never got to its summary)
  EXIT_CODE h2load's exit code

Prints `BENCH {json}`: requests (2xx responses), duration_us, rps (2xx per second), p50/p90/p99/max
latency in µs over every logged request, errors in wrk's keys (connect: no connection, read:
h2load's errored requests, status: non-2xx, timeout), plus protocol (the negotiated one),
h2_failed (requests that did not succeed) and h2_error (why, when the run failed: h2load's own
error lines, or a summary). A failed run is reported, never raised: the harness prints it.
"""
import json
import re
import sys


def percentile(sorted_values, q):
    if not sorted_values:
        return 0
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def main():
    out_path, log_path, seconds, rc = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    text = open(out_path, errors="replace").read()
    m = re.search(r"^finished in ([0-9.]+)(ms|s)", text, re.M)
    duration_s = (float(m.group(1)) / (1000 if m.group(2) == "ms" else 1)) if m else seconds
    m = re.search(r"^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                  r"(\d+) errored, (\d+) timeout", text, re.M)
    total, started, done, succeeded, failed, errored, timeout = (int(g) for g in m.groups()) if m else (0,) * 7
    m = re.search(r"^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text, re.M)
    non2xx = sum(int(g) for g in m.groups()[1:]) if m else 0
    m = re.search(r"^Application protocol: (\S+)", text, re.M)
    protocol = m.group(1) if m else ""

    latencies = []
    try:
        with open(log_path) as log:
            for line in log:
                parts = line.split("\t")
                if len(parts) >= 3:
                    latencies.append(int(parts[2]))
    except FileNotFoundError:
        pass
    latencies.sort()

    known = re.compile(r"^(starting benchmark|spawning thread|Warm-up |Main benchmark|Stopped all clients|TLS Protocol|"
                       r"Cipher:|Server Temp Key|Application protocol|progress:|finished in|requests:|status codes:|"
                       r"traffic:|\s+min\s+max|time for|time to|req/s|BENCH |\s*$)")
    unknown = [l.strip() for l in text.splitlines() if not known.match(l)]
    error = ""
    if rc != 0 or succeeded == 0 or failed > 0:
        why = " ".join(dict.fromkeys(unknown))[:300]
        error = why or (f"{started} requests started, {done} answered, {succeeded} succeeded"
                        + (f" (protocol {protocol}: no response to any stream)" if started and not done else "")
                        + (f", h2load exit code {rc}" if rc else ""))
        if rc == 124:
            error = "h2load timed out; " + error

    bench = {
        "requests": succeeded,
        "duration_us": int(max(duration_s, 1e-3) * 1e6),
        "rps": succeeded / max(duration_s, 1e-3),
        "p50_us": percentile(latencies, 0.50),
        "p90_us": percentile(latencies, 0.90),
        "p99_us": percentile(latencies, 0.99),
        "max_us": latencies[-1] if latencies else 0,
        "errors": {"connect": 1 if done == 0 and succeeded == 0 else 0, "read": errored, "write": 0,
                   "status": non2xx, "timeout": timeout},
        "protocol": protocol,
        "h2_failed": failed,
        "h2_error": error,
    }
    print("BENCH " + json.dumps(bench, separators=(",", ":")))


if __name__ == "__main__":
    main()
