#!/usr/bin/env bash
# `envguard exec -- true` against the floor (`env A=1 true`), `direnv exec` and `dotenvx run`
# on the same 20-variable .env, measured in one hyperfine run. Installs hyperfine and direnv
# (Debian) and dotenvx (npm, under target/) when missing.
#
#   benches/exec.sh            # prints a table of medians and ratios
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
for tool in hyperfine direnv; do
    if ! command -v "$tool" >/dev/null; then
        as_root apt-get update -qq && as_root apt-get install -y -qq "$tool" >/dev/null
    fi
done
tools="$root/target/bench-tools"
if [ ! -x "$tools/node_modules/.bin/dotenvx" ]; then
    npm install --silent --prefix "$tools" @dotenvx/dotenvx >/dev/null
fi
dotenvx="$tools/node_modules/.bin/dotenvx"

envguard=$("$root/scripts/build-release")

# A throw-away HOME so neither tool's configuration or trust store is touched.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export HOME="$scratch/home" XDG_DATA_HOME="$scratch/data" XDG_CONFIG_HOME="$scratch/config"
mkdir -p "$HOME" "$XDG_CONFIG_HOME/direnv" "$scratch/project"
printf '[global]\nload_dotenv = true\n' >"$XDG_CONFIG_HOME/direnv/direnv.toml"
for i in $(seq 1 20); do
    printf 'VAR_%02d=value-number-%02d-abcdefghijklmnopqrstuvwxyz\n' "$i" "$i"
done >"$scratch/project/.env"
chmod 600 "$scratch/project/.env"
cd "$scratch/project"
"$envguard" allow . 2>/dev/null
direnv allow . 2>/dev/null

json="$scratch/exec.json"
hyperfine -N --warmup 20 --runs 300 --export-json "$json" \
    -n floor "env A=1 true" \
    -n envguard "$envguard exec -- true" \
    -n direnv "direnv exec $scratch/project true" \
    -n dotenvx "$dotenvx run --quiet -- true" >/dev/null

python3 - "$json" <<'EOF'
import json, sys
results = {r["command"]: r["median"] * 1000 for r in json.load(open(sys.argv[1]))["results"]}
floor, ours = results["floor"], results["envguard"]
print(f"{'command':<34} {'median':>9} {'vs floor':>9} {'vs envguard':>12}")
labels = {
    "floor": "env A=1 true (floor)",
    "envguard": "envguard exec -- true",
    "direnv": "direnv exec DIR true",
    "dotenvx": "dotenvx run -- true",
}
for name, label in labels.items():
    ms = results[name]
    print(f"{label:<34} {ms:>7.2f}ms {ms / floor:>8.2f}x {ms / ours:>11.1f}x")
EOF
