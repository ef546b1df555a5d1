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

Which of them first: the functions that ran in `punctual worker` processes, then the rest that
ran in training (the CLI, the chaos harness and its sandboxes), hottest first. The worker is the
process that stays up, so its RSS is the one that counts; code that only a short-lived command
runs would otherwise sit among the worker's and be mapped with it.

Among the worker's functions: those more of the training's workers ran come first, and those the
same workers ran stay together, hottest first. Training runs different workers (the BenchWorkflow
worker, the chaos runs' billing and schedule workers), and a deployed worker runs one kind of
work. Ordered by count alone, the billing code sat among the BenchWorkflow worker's pages and was
mapped with them; grouped, each kind of worker maps the shared code (the SDK, the runtime, gRPC)
plus its own group. Measured in BENCHMARKS.md ("Functions grouped by the workers that ran them"):
a BenchWorkflow worker 20.1-20.8 against 22.0-22.5 MB peak RSS, relinked from the same
profile; `make pgo` end to end 20.3-21.0 against 22.1-22.5 MB.

Usage: pgo-symbol-order.py PROFILE_DUMP SYMBOLS OUT [WORKER_PROFILE_DUMP...]
  PROFILE_DUMP  `llvm-profdata show --all-functions --counts` of the merged profile
  SYMBOLS       `llvm-nm -S --defined-only` of the profile-guided binary, linked once without
                an order: its names carry the `.llvm.<n>` suffixes the final link will have
  OUT           the ordering file, one symbol a line
  WORKER_PROFILE_DUMP  the same dump of one worker process's profile, one per worker; without
                any, the functions that ran are ordered by count alone
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


def worker_signatures(worker_dumps):
    """Function name -> (which worker processes ran it, as a tuple of their indices; its
    largest count in any of them)."""
    ran = {}
    for index, dump in enumerate(worker_dumps):
        for name, count in max_counts(dump).items():
            if count > 0:
                workers, top = ran.get(name, ((), 0))
                ran[name] = (workers + (index,), max(top, count))
    return ran


def worker_order(entries):
    """Sorts (workers, count, symbol) so that the functions more workers ran come first, the
    functions the same workers ran stay together, and the hottest lead each such group."""
    return sorted(entries, key=lambda entry: (-len(entry[0]), entry[0], -entry[1]))


def main(profile_dump, symbols, out, *worker_dumps):
    counts = max_counts(profile_dump)
    worker = worker_signatures(worker_dumps)
    in_worker, elsewhere, unknown, never = [], [], [], 0
    for symbol in code_symbols(symbols):
        name = LLVM_SUFFIX.sub("", symbol)
        count = counts.get(name)
        if count is None:
            # Not instrumented: the precompiled standard library, C and assembly. Some of it
            # runs (allocation, formatting, SQLite), so it goes beside the code that ran.
            unknown.append(symbol)
        elif name in worker:
            workers, top = worker[name]
            in_worker.append((workers, top, symbol))
        elif count > 0:
            elsewhere.append((count, symbol))
        else:
            never += 1
    if not in_worker and not elsewhere:
        sys.exit("pgo-symbol-order: no function of the binary has a count in the profile; "
                 "is the profile from this build?")
    if worker_dumps and not in_worker:
        sys.exit(f"pgo-symbol-order: no function of the binary ran in {', '.join(worker_dumps)}; "
                 "are they workers' profiles from this build?")
    in_worker = worker_order(in_worker)
    elsewhere.sort(key=lambda entry: -entry[0])
    ordered = list(dict.fromkeys([s for _, _, s in in_worker] + [s for _, s in elsewhere] + unknown))
    with open(out, "w") as file:
        file.write("\n".join(ordered) + "\n")
    shared = sum(1 for workers, _, _ in in_worker if len(workers) == len(worker_dumps))
    print(f"pgo-symbol-order: {len(in_worker)} functions that ran in a worker ({shared} in all "
          f"{len(worker_dumps)}), then {len(elsewhere)} that ran only elsewhere, {len(unknown)} not "
          f"instrumented, {never} that never ran left after them -> {out}")


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
