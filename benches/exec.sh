#!/usr/bin/env bash
# `envguard exec -- true` against the floor (`env A=1 true`), `direnv exec` and `dotenvx run`
# on the same 20-variable .env, measured in one hyperfine run. Installs hyperfine and direnv
# (Debian) and dotenvx (npm, under target/) when missing.
#
#   benches/exec.sh            # prints a table of medians and ratios
# shellcheck source=benches/common.sh
source "$(dirname "$0")/common.sh"
tools="$root/target/bench-tools"
if [ ! -x "$tools/node_modules/.bin/dotenvx" ]; then
    npm install --silent --prefix "$tools" @dotenvx/dotenvx >/dev/null
fi
dotenvx="$tools/node_modules/.bin/dotenvx"
cd "$scratch/project"

json="$scratch/exec.json"
hyperfine -N --style none --warmup 20 --runs 300 --export-json "$json" \
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
