#!/usr/bin/env bash
# `envguard exec --mask -- cat` against plain `cat` on 1 GiB of 100-byte lines, with the
# benchmark project's 20 values loaded. A relay costs a pipe hop whatever it does with the
# bytes (the program writes to envguard, which writes on), so the table also times `cat | cat`,
# the same hop without the filter, and the filter alone in-process (a release build of its
# `throughput` test, same input and values): the rate of the filter itself, apart from the
# pipes. Each pipeline is timed once, after one warm-up of each.
#
#   benches/mask.sh            # prints a table of rates and ratios
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

# `cat | cat`, as one command for `seconds`.
two_cats() { cat | cat; }

filter=$(cd "$root" && ENVGUARD_BENCH_BYTES=$size cargo test --release --locked --quiet --lib \
    throughput -- --ignored --nocapture 2>/dev/null | sed -n 's/^filter in-process: .* in \([0-9.]*\)s.*/\1/p')
[ -n "$filter" ] || { echo "benches/mask.sh: the in-process filter run printed no figure" >&2; exit 1; }

seconds cat >/dev/null
seconds two_cats >/dev/null
seconds "$envguard" exec --mask -- cat >/dev/null
plain=$(seconds cat)
hop=$(seconds two_cats)
masked=$(seconds "$envguard" exec --mask -- cat)
python3 - "$size" "$plain" "$hop" "$masked" "$filter" <<'PY'
import sys
size = int(sys.argv[1])
plain, hop, masked, filter_only = map(float, sys.argv[2:])
mb = size / 1e6
print(f"{'1 GiB of 100-byte lines':<44} {'time':>8} {'rate':>11}")
for name, seconds in [
    ("cat (floor)", plain),
    ("cat | cat (the pipe hop any relay adds)", hop),
    ("envguard exec --mask -- cat", masked),
    ("the filter alone, in-process", filter_only),
]:
    print(f"{name:<44} {seconds:>7.2f}s {mb / seconds:>7.0f} MB/s")
print(f"ratio (masked / floor): {masked / plain:.2f}x; (masked / cat | cat): {masked / hop:.2f}x")
PY
