#!/usr/bin/env bash
# `envguard exec --mask -- cat` against plain `cat` on 1 GiB of 100-byte lines, with the
# benchmark project's 20 values loaded: the rate of the mask filter, and its cost over the
# floor (the same pipe without envguard). Each is timed once, after one warm-up of each.
#
#   benches/mask.sh            # prints a table of rates and the ratio
# shellcheck source=benches/common.sh
source "$(dirname "$0")/common.sh"
cd "$scratch/project"
size=$((1 << 30))
line=$(printf 'x%.0s' {1..100})

# Seconds for `yes LINE | head -c SIZE | COMMAND > /dev/null`.
seconds() {
    local start end
    start=$(date +%s.%N)
    { yes "$line" || true; } | head -c "$size" | "$@" >/dev/null
    end=$(date +%s.%N)
    echo "$end - $start" | bc -l
}

seconds cat >/dev/null
seconds "$envguard" exec --mask -- cat >/dev/null
plain=$(seconds cat)
masked=$(seconds "$envguard" exec --mask -- cat)
python3 - "$size" "$plain" "$masked" <<'PY'
import sys
size, plain, masked = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
mb = size / 1e6
print(f"{'command (1 GiB of 100-byte lines)':<38} {'time':>8} {'rate':>11}")
print(f"{'cat (floor)':<38} {plain:>7.2f}s {mb / plain:>7.0f} MB/s")
print(f"{'envguard exec --mask -- cat':<38} {masked:>7.2f}s {mb / masked:>7.0f} MB/s")
print(f"ratio (masked / floor): {masked / plain:.2f}x")
PY
