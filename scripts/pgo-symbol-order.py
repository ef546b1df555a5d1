#!/usr/bin/env python3
"""Writes a linker symbol-ordering file for the profile-guided build: every function of the
binary that ran in training, hottest first, then the functions the profile knows nothing about.

Why: what `ps` counts for punctual's code is the pages of the binary it has touched, and the
kernel maps code in 64 KB to 2 MB pieces around each fault. In a normal link the ~11,000
functions that run sit among ~62,000 that never do, so touching them mapped 12 MB of the 25 MB
`.text`. lld's `--symbol-ordering-file` puts the listed functions first and together, so the
ones that run share pages and the ones that never run stay on disk. Measured in BENCHMARKS.md
("Function order"): the worker's code resident under the BenchWorkflow load fell from 11.8 to
9.0 MB, its peak RSS from 24.5-24.9 to 21.1-21.4 MB, CPU within the spread.

Profile-guided optimisation alone does not do this: it moves functions into `.text.hot` and
`.text.unlikely`, but `.text.unlikely` holds the functions that ran a few times (start-up,
connecting, registering) beside the ones that never ran, and lld merges all of them into one
`.text` anyway.

Which of them first: the functions that ran in `punctual worker` processes, hottest first, then
the rest that ran in training (the CLI, the chaos harness and its sandboxes), hottest first. The
worker is the process that stays up, so its RSS is the one that counts; code that only a
short-lived command runs would otherwise sit among the worker's and be mapped with it. Measured
in BENCHMARKS.md ("The worker's functions first"): with the bench worker's profile alone first,
19.2-19.6 against 20.7-20.9 MB peak RSS under the BenchWorkflow load; with every training
worker's (billing and schedules included, as `make pgo` does) a BenchWorkflow worker maps that
code too, 22.2-22.5 MB, the price of a profile that covers what deployed workers run.

Usage: pgo-symbol-order.py PROFILE_DUMP SYMBOLS OUT [WORKER_PROFILE_DUMP]
  PROFILE_DUMP  `llvm-profdata show --all-functions --counts` of the merged profile
  SYMBOLS       `llvm-nm -S --defined-only` of the profile-guided binary, linked once without
                an order: its names carry the `.llvm.<n>` suffixes the final link will have
  OUT           the ordering file, one symbol a line
  WORKER_PROFILE_DUMP  the same dump of the worker processes' profiles alone; without it the
                functions that ran are ordered by count alone
"""
import re
import sys

LLVM_SUFFIX = re.compile(r"\.llvm\.\d+$")


def max_counts(profile_dump):
    """Function name -> its largest block count. Local functions are named `file;symbol` in
    the profile; the file part is dropped, as the binary's symbol table does not have it."""
    counts, name = {}, None
    with open(profile_dump) as dump:
        for line in dump:
            if line.startswith("  ") and not line.startswith("    ") and line.rstrip().endswith(":"):
                name = line.strip()[:-1].split(";", 1)[-1]
            elif name is not None and line.strip().startswith("Block counts:"):
                blocks = [int(n) for n in re.findall(r"\d+", line.split(":", 1)[1])]
                counts[name] = max(counts.get(name, 0), max(blocks, default=0))
    return counts


def code_symbols(symbols):
    """The binary's function symbols, in the order `llvm-nm` lists them."""
    with open(symbols) as table:
        for line in table:
            fields = line.split()
            if len(fields) == 4 and fields[2] in ("t", "T", "w", "W"):
                yield fields[3]


def main(profile_dump, symbols, out, worker_dump=None):
    counts = max_counts(profile_dump)
    worker = max_counts(worker_dump) if worker_dump else {}
    in_worker, elsewhere, unknown, never = [], [], [], 0
    for symbol in code_symbols(symbols):
        name = LLVM_SUFFIX.sub("", symbol)
        count = counts.get(name)
        if count is None:
            # Not instrumented: the precompiled standard library, C and assembly. Some of it
            # runs (allocation, formatting, SQLite), so it goes beside the code that ran.
            unknown.append(symbol)
        elif worker.get(name, 0) > 0:
            in_worker.append((worker[name], symbol))
        elif count > 0:
            elsewhere.append((count, symbol))
        else:
            never += 1
    if not in_worker and not elsewhere:
        sys.exit("pgo-symbol-order: no function of the binary has a count in the profile; "
                 "is the profile from this build?")
    if worker_dump and not in_worker:
        sys.exit(f"pgo-symbol-order: no function of the binary ran in {worker_dump}; "
                 "is it a worker's profile from this build?")
    in_worker.sort(key=lambda entry: -entry[0])
    elsewhere.sort(key=lambda entry: -entry[0])
    ordered = list(dict.fromkeys([s for _, s in in_worker] + [s for _, s in elsewhere] + unknown))
    with open(out, "w") as file:
        file.write("\n".join(ordered) + "\n")
    print(f"pgo-symbol-order: {len(in_worker)} functions that ran in a worker, then {len(elsewhere)} "
          f"that ran only elsewhere, {len(unknown)} not instrumented, {never} that never ran left "
          f"after them -> {out}")


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    main(*sys.argv[1:])
