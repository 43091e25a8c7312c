# shellcheck shell=bash
# Sourced by the benchmarks: the tools they compare against (installed when missing), the
# release build, and a throw-away HOME holding one 20-variable project that every tool loads,
# so that each comparison is on the same file and the user's own configuration is untouched.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
for tool in hyperfine direnv; do
    if ! command -v "$tool" >/dev/null; then
        as_root apt-get update -qq && as_root apt-get install -y -qq "$tool" >/dev/null
    fi
done
envguard=$("$root/scripts/build-release")
direnv=$(command -v direnv)

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export HOME="$scratch/home" XDG_DATA_HOME="$scratch/data" XDG_CONFIG_HOME="$scratch/config"
mkdir -p "$HOME" "$XDG_CONFIG_HOME/direnv" "$scratch/project"
printf '[global]\nload_dotenv = true\n' >"$XDG_CONFIG_HOME/direnv/direnv.toml"
for i in $(seq 1 20); do
    printf 'VAR_%02d=value-number-%02d-abcdefghijklmnopqrstuvwxyz\n' "$i" "$i"
done >"$scratch/project/.env"
chmod 600 "$scratch/project/.env"
"$envguard" allow "$scratch/project" 2>/dev/null
(cd "$scratch/project" && "$direnv" allow . 2>/dev/null)
