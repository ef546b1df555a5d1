#!/usr/bin/env python3
"""Which parts of a running binary are resident, section by section: the diagnostic behind
BENCHMARKS.md's "Function order".

`ps` counts a code page once it is mapped, and `/proc/<pid>/smaps` tells only per mapping, where
all of `.text` is one. This reads `/proc/<pid>/pagemap` (root: the "present" bit of every page)
and sums the present pages of each ELF section of the binary (`readelf -SW`), so a layout change
shows where it moved memory: `.text` against `.text.unlikely`, the functions listed first
against the rest.

Usage (as root), beside a bench run of the binary:
  rss-by-section.py BINARY OUT.json [SECONDS]
It polls every 0.5 s for processes running BINARY (for SECONDS, default 900) and keeps in
OUT.json the snapshot with the most resident pages, with `VmHWM`, `RssAnon` and `RssFile`.
"""
import json
import os
import struct
import subprocess
import sys
import time

PAGE = 4096


def sections(binary):
    """(name, address, size) of every allocated section of the ELF file."""
    found = []
    listing = subprocess.run(["readelf", "-SW", binary], capture_output=True, text=True, check=True)
    for line in listing.stdout.splitlines():
        fields = line.replace("[ ", "[").split()
        if len(fields) > 6 and fields[0].startswith("[") and fields[1].startswith("."):
            address, size = int(fields[3], 16), int(fields[5], 16)
            if address and size:
                found.append((fields[1], address, size))
    return found


def pids_running(real_path):
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/exe") == real_path:
                    yield int(entry)
            except OSError:
                pass


def load_base(pid, real_path):
    """Where the binary's file offset 0 is mapped in this process."""
    with open(f"/proc/{pid}/maps") as maps:
        for line in maps:
            fields = line.split()
            if len(fields) >= 6 and fields[5] == real_path:
                return int(fields[0].split("-")[0], 16) - int(fields[2], 16)
    raise OSError("binary not mapped")


def resident_kb(pid, base, layout):
    """Section name -> (resident KB, size KB in pages)."""
    result = {}
    with open(f"/proc/{pid}/pagemap", "rb") as pagemap:
        for name, address, size in layout:
            first = (base + address) // PAGE
            last = (base + address + size - 1) // PAGE
            pagemap.seek(first * 8)
            entries = pagemap.read((last - first + 1) * 8)
            present = sum(1 for (entry,) in struct.iter_unpack("<Q", entries) if entry >> 63)
            result[name] = (present * PAGE // 1024, (last - first + 1) * PAGE // 1024)
    return result


def status(pid):
    with open(f"/proc/{pid}/status") as lines:
        return [line.strip() for line in lines if line.startswith(("VmHWM", "RssAnon", "RssFile"))]


def main(binary, out, seconds="900"):
    real_path, layout = os.path.realpath(binary), sections(binary)
    best, deadline = 0, time.time() + float(seconds)
    while time.time() < deadline:
        for pid in pids_running(real_path):
            try:
                by_section = resident_kb(pid, load_base(pid, real_path), layout)
                snapshot = {"pid": pid, "status": status(pid), "sections_kb": by_section}
            except OSError:
                continue  # the process ended between the listing and the read
            total = sum(kb for kb, _ in by_section.values())
            if total >= best:
                best = total
                with open(out, "w") as file:
                    json.dump(snapshot, file, indent=1)
        time.sleep(0.5)


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    main(*sys.argv[1:])
