"""Tests of scripts/pgo-symbol-order.py, the function order `make pgo` links by: run by
`make test` (`python3 -m unittest discover -s scripts`). A wrong order does not break the build,
it only maps more of the binary, so nothing else would notice it."""
import importlib.util
import os
import subprocess
import sys
import tempfile
import unittest

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pgo-symbol-order.py")
spec = importlib.util.spec_from_file_location("pgo_symbol_order", SCRIPT)
order_script = importlib.util.module_from_spec(spec)
spec.loader.exec_module(order_script)


def profile_dump(counts):
    """Text as `llvm-profdata show --all-functions --counts` prints it: name -> block counts."""
    lines = ["Counters:"]
    for name, blocks in counts.items():
        lines += [f"  {name}:", "    Hash: 0x0000000000000001", f"    Counters: {len(blocks)}",
                  f"    Block counts: [{', '.join(str(n) for n in blocks)}]"]
    return "\n".join(lines + ["Instrumentation level: Front-end", ""])


def symbol_table(names):
    """Text as `llvm-nm -S --defined-only` prints it, with one data symbol to skip."""
    lines = [f"{i * 16:016x} 0000000000000010 t {name}" for i, name in enumerate(names)]
    return "\n".join(lines + ["0000000000009000 0000000000000008 d SOME_DATA", ""])


def run_script(profile, symbols, workers):
    """Runs the script on these dumps; returns (the process, the order file's symbols)."""
    with tempfile.TemporaryDirectory() as tmp:
        def write(name, text):
            path = os.path.join(tmp, name)
            with open(path, "w") as file:
                file.write(text)
            return path
        out = os.path.join(tmp, "order")
        args = [write("profile.txt", profile_dump(profile)), write("symbols.txt", symbol_table(symbols)), out]
        args += [write(f"worker-{i}.txt", profile_dump(w)) for i, w in enumerate(workers)]
        run = subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True)
        if not os.path.exists(out):
            return run, None
        with open(out) as file:
            return run, file.read().split()


class OrderTest(unittest.TestCase):
    def order(self, profile, symbols, workers):
        run, order = run_script(profile, symbols, workers)
        self.assertEqual(run.returncode, 0, run.stderr)
        return order

    def test_shared_code_first_then_each_set_of_workers_together_hottest_first(self):
        # Workers 0 and 1 bill, worker 2 runs the benchmark; all three run the SDK.
        workers = [
            {"sdk_poll": [900], "sdk_start": [1], "bill_a": [5], "bill_b": [50], "bench": [0]},
            {"sdk_poll": [800], "sdk_start": [1], "bill_a": [7], "bill_b": [40]},
            {"sdk_poll": [700], "sdk_start": [1], "bench": [300], "bill_a": [0]},
        ]
        profile = {"sdk_poll": [2400], "sdk_start": [3], "bill_a": [12], "bill_b": [90], "bench": [300],
                   "cli_parse": [4], "never": [0, 0]}
        symbols = ["bench", "bill_a", "bill_b", "cli_parse", "never", "sdk_poll", "sdk_start", "sqlite3_step"]
        self.assertEqual(self.order(profile, symbols, workers),
                         ["sdk_poll", "sdk_start", "bill_b", "bill_a", "bench", "cli_parse", "sqlite3_step"])

    def test_names_match_across_llvm_suffixes_and_local_file_prefixes(self):
        workers = [{"crate.cgu.0;local_fn": [3], "merged_fn": [9]}]
        profile = {"crate.cgu.0;local_fn": [3], "merged_fn": [9], "cold": [0]}
        symbols = ["cold", "local_fn", "merged_fn.llvm.123456"]
        self.assertEqual(self.order(profile, symbols, workers), ["merged_fn.llvm.123456", "local_fn"])

    def test_without_worker_profiles_the_functions_that_ran_go_hottest_first(self):
        profile = {"warm": [10], "hot": [1000], "cold": [0]}
        self.assertEqual(self.order(profile, ["cold", "hot", "warm"], []), ["hot", "warm"])

    def test_worker_profiles_from_another_build_are_refused(self):
        run, _ = run_script({"f": [1]}, ["f"], [{"other_build_fn": [5]}])
        self.assertNotEqual(run.returncode, 0)
        self.assertIn("no function of the binary ran in", run.stderr)

    def test_worker_order_groups_by_the_set_of_workers(self):
        entries = [((1,), 99, "only_1"), ((0, 1), 5, "both_cold"), ((0,), 7, "only_0"), ((0, 1), 50, "both_hot")]
        self.assertEqual([symbol for _, _, symbol in order_script.worker_order(entries)],
                         ["both_hot", "both_cold", "only_0", "only_1"])


if __name__ == "__main__":
    unittest.main()
