#!/usr/bin/env bash
# `envguard exec -- true` with 10 `aws-sm://` references, against one AWS CLI call and against
# the same 10 fetched one after another (what a naive wrapper script does), in one hyperfine run.
# envguard fetches the 10 with one `batch-get-secret-value` (one CLI start); the naive wrapper
# pays ten starts. The endpoint is a real local Secrets Manager (moto in server mode on
# loopback, started here), so what is measured is the CLI's own cost, not a network's. The AWS CLI and moto come from the
# test venv (scripts/test makes it; made here from tests/requirements.txt when missing).
#
#   benches/refs.sh            # prints a table of medians and ratios
# shellcheck source=benches/common.sh
source "$(dirname "$0")/common.sh"
venv=${ENVGUARD_TEST_VENV:-$root/target/test-venv}
if [ ! -x "$venv/bin/moto_server" ] || [ ! -x "$venv/bin/aws" ]; then
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$root/tests/requirements.txt"
fi
refs=10

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
moto=$!
trap 'kill "$moto" 2>/dev/null; rm -rf "$scratch"' EXIT
export PATH="$venv/bin:$PATH" AWS_ENDPOINT_URL="http://127.0.0.1:$port" \
    AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_DEFAULT_REGION=us-east-1 \
    AWS_EC2_METADATA_DISABLED=true
for _ in $(seq 1 300); do
    if python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; then
        break
    fi
    sleep 0.1
done

project="$scratch/refs"
mkdir -p "$project"
naive="$scratch/naive.sh"
echo '#!/bin/sh' >"$naive"
for i in $(seq 1 "$refs"); do
    aws secretsmanager create-secret --name "bench/secret-$i" \
        --secret-string "bench-value-$i-abcdefghijklmnopqrstuvwxyz" >/dev/null
    printf 'SECRET_%02d=aws-sm://bench/secret-%d\n' "$i" "$i" >>"$project/.env"
    # shellcheck disable=SC2016 # the $(…) is the wrapper's, expanded when it runs
    printf 'SECRET_%02d=$(aws secretsmanager get-secret-value --secret-id bench/secret-%d --query SecretString --output text) || exit 1\nexport SECRET_%02d\n' \
        "$i" "$i" "$i" >>"$naive"
done
echo 'exec "$@"' >>"$naive"
chmod 600 "$project/.env"
chmod 700 "$naive"
"$envguard" allow "$project" 2>/dev/null
cd "$project"
"$envguard" exec -- true # fails the run, not the table, if a reference does not resolve

one="aws secretsmanager get-secret-value --secret-id bench/secret-1 --query SecretString --output text"
json="$scratch/refs.json"
hyperfine -N --style none --warmup 2 --runs 15 --export-json "$json" \
    -n one "$one" \
    -n envguard "$envguard exec -- true" \
    -n naive "$naive true" >/dev/null

python3 - "$json" "$refs" "$(nproc)" <<'EOF'
import json, sys
results = {r["command"]: r["median"] * 1000 for r in json.load(open(sys.argv[1]))["results"]}
refs, cores = sys.argv[2], sys.argv[3]
one = results["one"]
print(f"{refs} aws-sm:// references, moto on loopback, {cores} cores")
print(f"{'command':<46} {'median':>10} {'vs one call':>12}")
labels = {
    "one": "aws secretsmanager get-secret-value (1 call)",
    "envguard": f"envguard exec -- true ({refs} references)",
    "naive": f"{refs} CLI calls one after another, then true",
}
for name, label in labels.items():
    ms = results[name]
    print(f"{label:<46} {ms:>8.0f}ms {ms / one:>11.2f}x")
EOF
