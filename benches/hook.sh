#!/usr/bin/env bash
# What the shell hook costs, against direnv and the /bin/true floor, in one run:
#   - `envguard export bash` / `direnv export bash` when nothing changed (every prompt) and on
#     the first load of the same 20-variable .env; `/bin/true` as the floor;
#   - envguard's first load of a 10,000-variable .env;
#   - the cost per prompt inside a real bash: N calls of each tool's own hook function, minus
#     an empty loop (this includes fork, exec and eval, which is what a prompt really pays).
# Uses the static musl release build (scripts/build-release). Installs hyperfine and direnv
# (Debian) when missing. direnv runs with `load_dotenv = true` in a throw-away HOME.
#
#   benches/hook.sh            # prints the table
# shellcheck source=benches/common.sh
source "$(dirname "$0")/common.sh"
mkdir -p "$scratch/project/src/deep" "$scratch/big"
for i in $(seq 1 10000); do printf 'BIG_%05d=value-%05d\n' "$i" "$i"; done >"$scratch/big/.env"
chmod 600 "$scratch/big/.env"
# Its own trust store: allowing it records 10,000 name fingerprints, which every load reads, and
# the 20-variable rows measure an ordinary store.
XDG_DATA_HOME="$scratch/big-data" "$envguard" allow "$scratch/big" 2>/dev/null

# The prompt happens in a subdirectory of the project, as it usually does.
work="$scratch/project/src/deep"
cd "$work"
export PWD="$work"
bench() { hyperfine -N --style none --warmup 30 --runs "$1" --export-json "$2" "${@:3}" 2>&1 | grep -v -e 'outliers' -e '^ *$' >&2 || true; }

# First load: nothing loaded yet in this environment.
bench 300 "$scratch/first.json" \
    -n floor /bin/true \
    -n envguard-first "$envguard export bash" \
    -n direnv-first "$direnv export bash"
(cd "$scratch/big" && PWD="$scratch/big" XDG_DATA_HOME="$scratch/big-data" bench 30 "$scratch/big.json" -n envguard-10k "$envguard export bash")

# No change: the state each tool left after loading is in the environment.
eval "$("$envguard" export bash 2>/dev/null)"
eval "$("$direnv" export bash 2>/dev/null)"
bench 1000 "$scratch/same.json" \
    -n floor-same /bin/true \
    -n envguard-same "$envguard export bash" \
    -n direnv-same "$direnv export bash"

# Per prompt inside bash: each tool's real hook function, N times, minus an empty loop.
per_prompt() {
    # shellcheck disable=SC2016
    bash --noprofile --norc -c '
        eval "$1"
        loop() {
            local i start=$EPOCHREALTIME
            for ((i = 0; i < 500; i++)); do "$1"; done
            echo "$start $EPOCHREALTIME"
        }
        empty() { :; }
        true_hook() { eval "$(/bin/true)"; }
        read -r s0 e0 < <(loop empty)
        read -r s1 e1 < <(loop "$2")
        awk -v s0="$s0" -v e0="$e0" -v s1="$s1" -v e1="$e1" \
            "BEGIN { printf \"%.4f\n\", ((e1 - s1) - (e0 - s0)) / 500 * 1000 }"
    ' per-prompt "$1" "$2"
}
# Five interleaved rounds, so that a busy moment on the machine hits all three alike; the
# table takes the median round of each.
envguard_hook=$("$envguard" hook bash)
direnv_hook=$("$direnv" hook bash)
prompt_true="" prompt_envguard="" prompt_direnv=""
for _ in 1 2 3 4 5; do
    prompt_true+="$(per_prompt ":" true_hook),"
    prompt_envguard+="$(per_prompt "$envguard_hook" __envguard_hook),"
    prompt_direnv+="$(per_prompt "$direnv_hook" _direnv_hook),"
done

python3 - "$scratch" "$prompt_true" "$prompt_envguard" "$prompt_direnv" "$("$direnv" version)" <<'PY'
import json, sys
scratch, p_true, p_eg, p_direnv, direnv_version = sys.argv[1:6]
ms = {}
for name in ("first", "big", "same"):
    for r in json.load(open(f"{scratch}/{name}.json"))["results"]:
        ms[r["command"]] = r["median"] * 1000
floor, floor_same = ms["floor"], ms["floor-same"]
print(f"envguard (static musl build) vs direnv {direnv_version}, hyperfine medians, 20-variable .env")
print(f"{'what':<44} {'median':>9} {'vs /bin/true':>13} {'vs direnv':>10}")
def row(label, value, base, direnv=None):
    against = f"{value / direnv:>9.2f}x" if direnv else f"{'':>10}"
    print(f"{label:<44} {value:>7.2f}ms {value / base:>12.2f}x {against}")
row("/bin/true (floor, first-load run)", floor, floor)
row("/bin/true (floor, no-change run)", floor_same, floor_same)
row("envguard export bash, no change", ms["envguard-same"], floor_same, ms["direnv-same"])
row("direnv export bash, no change", ms["direnv-same"], floor_same)
row("envguard export bash, first load", ms["envguard-first"], floor, ms["direnv-first"])
row("direnv export bash, first load", ms["direnv-first"], floor)
row("envguard export bash, first load, 10k vars", ms["envguard-10k"], floor)
import statistics
p_true, p_eg, p_direnv = (statistics.median(float(x) for x in p.split(",") if x) for p in (p_true, p_eg, p_direnv))
print(f"\nper prompt inside bash (500 hook calls minus an empty loop, median of 5 interleaved rounds)")
print(f"{'hook':<44} {'per prompt':>9} {'vs /bin/true':>13} {'vs direnv':>10}")
row('eval "$(/bin/true)"', p_true, p_true)
row("__envguard_hook (no change)", p_eg, p_true, p_direnv)
row("_direnv_hook (no change)", p_direnv, p_true)
PY
