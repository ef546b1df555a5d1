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

Usage: pgo-symbol-order.py PROFILE_DUMP SYMBOLS OUT
  PROFILE_DUMP  `llvm-profdata show --all-functions --counts` of the merged profile
  SYMBOLS       `llvm-nm -S --defined-only` of the profile-guided binary, linked once without
                an order: its names carry the `.llvm.<n>` suffixes the final link will have
  OUT           the ordering file, one symbol a line
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


def main(profile_dump, symbols, out):
    counts = max_counts(profile_dump)
    ran, unknown, never = [], [], 0
    for symbol in code_symbols(symbols):
        count = counts.get(LLVM_SUFFIX.sub("", symbol))
        if count is None:
            # Not instrumented: the precompiled standard library, C and assembly. Some of it
            # runs (allocation, formatting, SQLite), so it goes beside the code that ran.
            unknown.append(symbol)
        elif count > 0:
            ran.append((count, symbol))
        else:
            never += 1
    ran.sort(key=lambda entry: -entry[0])
    ordered = list(dict.fromkeys([symbol for _, symbol in ran] + unknown))
    if not ran:
        sys.exit("pgo-symbol-order: no function of the binary has a count in the profile; "
                 "is the profile from this build?")
    with open(out, "w") as file:
        file.write("\n".join(ordered) + "\n")
    print(f"pgo-symbol-order: {len(ran)} functions that ran, {len(unknown)} not instrumented, "
          f"{never} that never ran left after them -> {out}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
