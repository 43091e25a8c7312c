#!/usr/bin/env bash
# `envguard exec --mask -- cat` against plain `cat` on 1 GiB of 100-byte lines, with the
# benchmark project's 20 values loaded. A relay costs a pipe hop whatever it does with the
# bytes (the program writes to envguard, which writes on), so the table also times `cat | cat`,
# the same hop without the filter, and the filter alone in-process (a release build of its
# `throughput` test, same input and values): the rate of the filter itself, apart from the
# pipes; and the filter alone on lines that each begin like a value and then diverge, its
# hardest ordinary input, and on lines that each hold a value. Each pipeline is timed three
# times after a warm-up, and the fastest counts: on a machine shared with other work the
# slower runs measure the others.
#
#   benches/mask.sh            # prints a table of rates and ratios
# cargo needs the user's HOME (its toolchains), which common.sh replaces with a throw-away one.
user_home=$HOME
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

in_process=$(cd "$root" && HOME=$user_home ENVGUARD_BENCH_BYTES=$size cargo test --release \
    --locked --quiet --lib throughput -- --ignored --nocapture 2>&1) || {
    echo "benches/mask.sh: the in-process filter run failed: $in_process" >&2
    exit 1
}
filter=$(sed -n 's/^filter in-process: .* in \([0-9.]*\)s.*/\1/p' <<<"$in_process")
near_misses=$(sed -n 's/^filter near misses: .* in \([0-9.]*\)s.*/\1/p' <<<"$in_process")
hits=$(sed -n 's/^filter hits: .* in \([0-9.]*\)s.*/\1/p' <<<"$in_process")

# The fastest of three runs of `seconds COMMAND...`, after a warm-up.
fastest() {
    seconds "$@" >/dev/null
    { seconds "$@"; seconds "$@"; seconds "$@"; } | sort -g | head -1
}

plain=$(fastest cat)
hop=$(fastest two_cats)
masked=$(fastest "$envguard" exec --mask -- cat)
python3 - "$size" "$plain" "$hop" "$masked" "$filter" "$near_misses" "$hits" <<'PY'
import sys
size = int(sys.argv[1])
plain, hop, masked, filter_only, near_misses, hits = map(float, sys.argv[2:])
mb = size / 1e6
print(f"{'1 GiB of 100-byte lines':<44} {'time':>8} {'rate':>11}")
for name, seconds in [
    ("cat (floor)", plain),
    ("cat | cat (the pipe hop any relay adds)", hop),
    ("envguard exec --mask -- cat", masked),
    ("the filter alone, in-process", filter_only),
    ("the filter alone, every line a near miss", near_misses),
    ("the filter alone, a value in every line", hits),
]:
    print(f"{name:<44} {seconds:>7.2f}s {mb / seconds:>7.0f} MB/s")
print(f"ratio (masked / floor): {masked / plain:.2f}x; (masked / cat | cat): {masked / hop:.2f}x")
PY
