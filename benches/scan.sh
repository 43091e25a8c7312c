#!/usr/bin/env bash
# Benchmark: `envguard scan` against detect-secrets on the same generated ~50 MB corpus (code,
# prose, JSON, notebooks; a .env with 1,000 values; planted secrets listed in planted.json).
# Prints MB/s and how many planted secrets each found. Run from anywhere:
#   benches/scan.sh            # builds release, generates the corpus, installs detect-secrets
set -euo pipefail
cd "$(dirname "$0")/.."
work="$PWD/target/bench"
corpus="$work/corpus"
mkdir -p "$work"

cargo build --release --quiet
envguard="$PWD/target/release/envguard"
[ -d "$corpus" ] || python3 benches/gen_corpus.py "$corpus" 50
if [ ! -x "$work/venv/bin/detect-secrets" ]; then
    python3 -m venv "$work/venv"
    "$work/venv/bin/python" -m pip install -q --disable-pip-version-check 'detect-secrets==1.5.0'
fi
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
out="$work/detect-secrets.json"
ds_s=$(cd "$corpus" && best_of 1 "$work/venv/bin/detect-secrets" scan --all-files --exclude-files '(^|/)\.env$' .)

python3 - "$work" "$bytes" "$envguard_s" "$ds_s" <<'PY'
import json, sys
work, size, eg_s, ds_s = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
planted = json.load(open(f"{work}/planted.json"))
eg = json.load(open(f"{work}/envguard.json"))["findings"]
ds = json.load(open(f"{work}/detect-secrets.json"))["results"]
# Notebook findings are reported by cell, not file line: for them the file is what counts.
eg_at = {(f["path"], f["line"]) for f in eg if f["place"] is None} | {(f["path"], None) for f in eg if f["place"]}
ds_at = {(path.removeprefix("./"), r["line_number"]) for path, rs in ds.items() for r in rs}
eg_found = sum((p["path"], p["line"]) in eg_at or (p.get("notebook") and (p["path"], None) in eg_at) for p in planted)
ds_found = sum((p["path"], p["line"]) in ds_at for p in planted)
mb = size / 1e6
print(f"corpus: {mb:.1f} MB, {len(planted)} planted secrets, .env with 1,000 values\n")
print("| scanner | time | throughput | planted found | findings |")
print("|---|---:|---:|---:|---:|")
print(f"| envguard scan | {eg_s:.2f} s | {mb / eg_s:.0f} MB/s | {eg_found}/{len(planted)} | {len(eg)} |")
ds_total = sum(len(rs) for rs in ds.values())
print(f"| detect-secrets 1.5.0 | {ds_s:.2f} s | {mb / ds_s:.1f} MB/s | {ds_found}/{len(planted)} | {ds_total} |")
print(f"\nenvguard is {ds_s / eg_s:.0f}x faster")
PY
