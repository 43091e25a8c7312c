#!/usr/bin/env bash
# What the shell hook costs, against direnv and the /bin/true floor, in one run:
#   - `envguard export bash` / `direnv export bash` when nothing changed (every prompt) and on
#     the first load of the same 20-variable .env; `/bin/true` as the floor;
#   - envguard's first load of a 10,000-variable .env;
#   - the cost per prompt inside real bash, zsh and fish: N calls of each tool's own hook
#     function, minus an empty loop (this includes fork, exec and eval, which is what a prompt
#     really pays); envguard's with its in-shell check and with the process at every prompt.
# Uses the static musl release build (scripts/build-release). Installs hyperfine and direnv
# (Debian) when missing. direnv runs with `load_dotenv = true` in a throw-away HOME.
#
#   benches/hook.sh            # prints the table
# shellcheck source=benches/common.sh
source "$(dirname "$0")/common.sh"
mkdir -p "$scratch/project/src/deep" "$scratch/big"
for i in $(seq 1 10000); do printf 'BIG_%05d=value-%05d\n' "$i" "$i"; done >"$scratch/big/.env"
chmod 600 "$scratch/big/.env"
# Its own trust store: allowing it records 10,000 name fingerprints (kept apart from the digests
# a load reads), and the 20-variable rows measure an ordinary store.
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

# Per prompt inside each shell: each tool's real hook function, N times, minus an empty loop
# (fork, exec and eval included, which is what a prompt really pays). envguard's hook is
# measured twice in bash and zsh: with its in-shell check (the default; in bash it needs the
# `stat` loadable, Debian's bash-builtins) and with the check turned off, which is the process
# at every prompt, as before the check existed and as bash without the loadable still runs.
calls=500
# $1: the shell, $2: the code that installs the hooks, $3: the hook function.
per_prompt() {
    local -a no_startup_files=(--noprofile --norc)
    [[ $1 != zsh ]] || no_startup_files=(-f)
    case $1 in
    bash | zsh)
        # shellcheck disable=SC2016
        "$1" "${no_startup_files[@]}" -c '
            [[ -n ${ZSH_VERSION-} ]] && zmodload zsh/datetime
            eval "$1"
            loop() {
                local i start=$EPOCHREALTIME
                for ((i = 0; i < $2; i++)); do "$1"; done
                echo "$start $EPOCHREALTIME"
            }
            empty() { :; }
            true_hook() { eval "$(/bin/true)"; }
            envguard_process() { __envguard_stat="" __envguard_zstat=""; __envguard_hook; }
            loop "$2" 20 >/dev/null
            # The in-shell check must be what is measured, where it is asked for.
            if [[ $2 == __envguard_hook && -z ${__envguard_rec-} ]]; then
                echo "hook.sh: the in-shell check is off in $0" >&2
            fi
            read -r s0 e0 < <(loop empty "$3")
            read -r s1 e1 < <(loop "$2" "$3")
            awk -v s0="$s0" -v e0="$e0" -v s1="$s1" -v e1="$e1" -v n="$3" \
                "BEGIN { printf \"%.4f\n\", ((e1 - s1) - (e0 - s0)) / n * 1000 }"
        ' "$1" "$2" "$3" "$calls"
        ;;
    fish)
        # fish has no clock builtin: `date` brackets each loop, once.
        # shellcheck disable=SC2016
        fish --no-config -c '
            eval $argv[1]
            function empty; end
            function true_hook; eval (/bin/true); end
            function loop
                set -l start (date +%s.%N)
                for i in (seq $argv[2]); $argv[1]; end
                echo $start (date +%s.%N)
            end
            loop $argv[2] 20 >/dev/null
            set -l t0 (loop empty $argv[3] | string split " ")
            set -l t1 (loop $argv[2] $argv[3] | string split " ")
            awk -v s0=$t0[1] -v e0=$t0[2] -v s1=$t1[1] -v e1=$t1[2] -v n=$argv[3] \
                "BEGIN { printf \"%.4f\n\", ((e1 - s1) - (e0 - s0)) / n * 1000 }"
        ' "$2" "$3" "$calls"
        ;;
    esac
}
# Five interleaved rounds, so that a busy moment on the machine hits every row alike; the
# table takes the median round of each.
declare -A hooks=(
    [bash]="$("$envguard" hook bash)" [zsh]="$("$envguard" hook zsh)" [fish]="$("$envguard" hook fish)"
)
declare -A direnv_hooks=(
    [bash]="$("$direnv" hook bash)" [zsh]="$("$direnv" hook zsh)" [fish]="$("$direnv" hook fish)"
)
declare -A direnv_fn=([bash]=_direnv_hook [zsh]=_direnv_hook [fish]=__direnv_export_eval)
declare -A prompt=()
for _ in 1 2 3 4 5; do
    for sh in bash zsh fish; do
        prompt[$sh-true]+="$(per_prompt "$sh" ":" true_hook),"
        prompt[$sh-envguard]+="$(per_prompt "$sh" "${hooks[$sh]}" __envguard_hook),"
        if [[ $sh != fish ]]; then
            prompt[$sh-process]+="$(per_prompt "$sh" "${hooks[$sh]}" envguard_process),"
        fi
        prompt[$sh-direnv]+="$(per_prompt "$sh" "${direnv_hooks[$sh]}" "${direnv_fn[$sh]}"),"
    done
done
prompt_rows=""
for key in "${!prompt[@]}"; do prompt_rows+="$key=${prompt[$key]};"; done

python3 - "$scratch" "$prompt_rows" "$("$direnv" version)" <<'PY'
import json, statistics, sys
scratch, prompt_rows, direnv_version = sys.argv[1:4]
ms = {}
for name in ("first", "big", "same"):
    for r in json.load(open(f"{scratch}/{name}.json"))["results"]:
        ms[r["command"]] = r["median"] * 1000
floor, floor_same = ms["floor"], ms["floor-same"]
print(f"envguard (static musl build) vs direnv {direnv_version}, hyperfine medians, 20-variable .env")
print(f"{'what':<52} {'median':>9} {'vs /bin/true':>13} {'vs direnv':>10}")
def row(label, value, base, direnv=None, unit="ms"):
    against = f"{value / direnv:>9.2f}x" if direnv else f"{'':>10}"
    print(f"{label:<52} {value:>7.3f}{unit} {value / base:>12.2f}x {against}")
row("/bin/true (floor, first-load run)", floor, floor)
row("/bin/true (floor, no-change run)", floor_same, floor_same)
row("envguard export bash, no change", ms["envguard-same"], floor_same, ms["direnv-same"])
row("direnv export bash, no change", ms["direnv-same"], floor_same)
row("envguard export bash, first load", ms["envguard-first"], floor, ms["direnv-first"])
row("direnv export bash, first load", ms["direnv-first"], floor)
row("envguard export bash, first load, 10k vars", ms["envguard-10k"], floor)
p = {}
for item in prompt_rows.split(";"):
    if item:
        key, values = item.split("=", 1)
        p[key] = statistics.median(float(x) for x in values.split(",") if x)
print(f"\nper prompt inside each shell, no change (hook calls minus an empty loop, median of 5 interleaved rounds)")
print(f"{'hook':<52} {'per prompt':>9} {'vs eval true':>13} {'vs direnv':>10}")
for sh in ("bash", "zsh", "fish"):
    base, direnv = p[f"{sh}-true"], p[f"{sh}-direnv"]
    row(f'{sh}: eval "$(/bin/true)"', base, base, direnv)
    if sh == "fish":
        row(f"{sh}: __envguard_hook (process, as before)", p[f"{sh}-envguard"], base, direnv)
    else:
        check = "in-shell check" + (", stat loadable" if sh == "bash" else ", zstat")
        row(f"{sh}: __envguard_hook ({check})", p[f"{sh}-envguard"], base, direnv)
        row(f"{sh}: __envguard_hook (process, as before)", p[f"{sh}-process"], base, direnv)
    row(f"{sh}: direnv hook", direnv, base, direnv)
PY
