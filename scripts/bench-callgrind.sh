#!/usr/bin/env bash
# Instructions the worker executes per BenchWorkflow, counted by callgrind.
#
# Why: on 2 shared cores the worker's CPU time per workflow moves by ~10 % from run to run, so
# a 5 % change cannot be seen in it. An instruction count is repeatable (runs agree within
# 1 %). It is not time (a memset of 300 KB is few cycles per instruction, a cache miss many),
# so read it beside `make bench`, not instead of it.
#
# How: each variant's worker runs under valgrind twice, with 200 and with 700 measured
# workflows (10 warm-up each) on a fresh dev server; the difference over the 500 extra
# workflows cancels start-up, migrations, warm-up and shutdown.
#
# Usage: scripts/bench-callgrind.sh [NAME=VAR=value ...]...
#   scripts/bench-callgrind.sh                      # punctual as shipped
#   scripts/bench-callgrind.sh shipped= "sdk-defaults=PUNCTUAL_GRPC_COMPRESSION=gzip PUNCTUAL_TOKIO_RUNTIME=multi-thread PUNCTUAL_WORKFLOW_POLLERS=5"
# Each variant is a name and environment settings for the worker, as in punctual-bench's
# --variant (PUNCTUAL_BIN excepted: the worker here is always target/release/punctual).
# Needs valgrind (Debian: apt-get install valgrind). About a minute per variant and size.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v valgrind >/dev/null || { echo "bench-callgrind: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }

variants=("$@")
[[ ${#variants[@]} -gt 0 ]] || variants=("punctual=")
for variant in "${variants[@]}"; do
  if [[ "$variant" != *=* || "${variant%%=*}" == "" ]]; then
    echo "bench-callgrind: variant '$variant' is not NAME=[VAR=value ...] (e.g. shipped= or \"gzip=PUNCTUAL_GRPC_COMPRESSION=gzip\")" >&2
    exit 2
  fi
done

temporal="$(bash scripts/ensure-temporal.sh)"
cargo build --release --locked -p punctual-worker --bin punctual
cargo build --release --locked -p punctual-bench

out="$PWD/target/bench/callgrind"
rm -rf "$out" && mkdir -p "$out"
wrapper="$out/punctual-under-callgrind"
cat > "$wrapper" <<EOF
#!/bin/bash
exec valgrind --tool=callgrind --callgrind-out-file="$out/\${CALLGRIND_TAG}.%p" "$PWD/target/release/punctual" "\$@"
EOF
chmod +x "$wrapper"

small=200
large=700

for variant in "${variants[@]}"; do
  name="${variant%%=*}"
  settings="${variant#*=}"
  for workflows in "$small" "$large"; do
    echo "callgrind: $name, $workflows workflows" >&2
    target/release/punctual-bench --temporal "$temporal" --punctual target/release/punctual --out "$out/runs" \
      --scenarios throughput --rounds 1 --warmup 10 --workflows "$workflows" \
      --variant "$name=PUNCTUAL_BIN=$wrapper CALLGRIND_TAG=$name-$workflows $settings" >/dev/null
  done
done

# One row per variant: instructions per workflow, and the five functions that grew most
# between the two sizes (self cost, per workflow).
python3 - "$out" "$small" "$large" "${variants[@]}" <<'EOF'
import collections, glob, re, subprocess, sys
out, small, large, variants = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
def profile(name, n):
    [path] = glob.glob(f"{out}/{name}-{n}.*")
    text = subprocess.run(["callgrind_annotate", "--threshold=100", "--tree=none", "--inclusive=no", "--auto=no", path],
                          capture_output=True, text=True, check=True).stdout
    total, functions = 0, collections.Counter()
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)$", line)
        if not m:
            continue
        count = int(m.group(1).replace(",", ""))
        if "PROGRAM TOTALS" in line:
            total = count
        else:
            functions[re.sub(r" \[.*\]$", "", m.group(2).split(":", 1)[-1])[:110]] += count
    return total, functions
per = large - small
print(f"| variant | instructions per workflow | top self costs per workflow |")
print(f"|---|---:|---|")
for variant in variants:
    name = variant.split("=", 1)[0]
    (t0, f0), (t1, f1) = profile(name, small), profile(name, large)
    grown = sorted(((f1[k] - f0.get(k, 0)) / per, k) for k in f1)[::-1][:5]
    top = "; ".join(f"{k} {v / 1000:,.0f} k" for v, k in grown)
    print(f"| {name} | {(t1 - t0) / per:,.0f} | {top} |")
EOF
