#!/usr/bin/env bash
# `make run`: starts sluice-mock on 127.0.0.1:8090 and `sluice serve` on the embedded
# quick-start config (gateway on 127.0.0.1:8080, admin on 127.0.0.1:9901), prints a curl to
# try, and stops both on Ctrl-C.
set -euo pipefail
build="${1:-build}"
bin="$build/bin"

for port in 8080 8090 9901; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "quickstart: port $port on 127.0.0.1 is already in use; stop whatever holds it and retry" >&2
    exit 1
  fi
done

"$bin/sluice-mock" --address 127.0.0.1 --port 8090 --threads 1 >/dev/null &
mock_pid=$!
cleanup() {
  kill "$mock_pid" 2>/dev/null || true
  [[ -n "${sluice_pid:-}" ]] && kill "$sluice_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

"$bin/sluice" serve &
sluice_pid=$!

for _ in $(seq 1 100); do
  if curl -fsS http://127.0.0.1:9901/readyz >/dev/null 2>&1; then break; fi
  sleep 0.05
done

cat <<'MSG'

Sluice is running on the embedded quick-start config:
  gateway  http://127.0.0.1:8080   (routes /v1 to the mock provider on 127.0.0.1:8090,
                                    and /claude to the same mock speaking Anthropic)
  admin    http://127.0.0.1:9901   (/healthz /readyz /metrics)

Try it:
  curl -s http://127.0.0.1:8080/v1/chat/completions \
    -H 'Content-Type: application/json' \
    -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello!"}]}'

Streaming:
  curl -sN http://127.0.0.1:8080/v1/chat/completions \
    -H 'Content-Type: application/json' \
    -d '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Hello!"}]}'

The same OpenAI request, translated to Anthropic Messages and back:
  curl -s http://127.0.0.1:8080/claude/v1/chat/completions \
    -H 'Content-Type: application/json' \
    -d '{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hello!"}]}'

Access log lines (JSON) appear below. Ctrl-C stops both processes.

MSG
wait "$sluice_pid"
