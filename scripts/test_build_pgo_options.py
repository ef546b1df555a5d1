"""Tests of the options `make pgo` (scripts/build-pgo.sh) takes: run by `make test`. The build
takes 25-45 minutes, so a misspelt option must stop it at once, naming itself, and must never
quietly mean "off" (the binary would then be measured as what it is not)."""
import os
import shutil
import subprocess
import tempfile
import unittest

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "build-pgo.sh")


def run_build(**options):
    """Runs a copy of build-pgo.sh with these environment options, alone in an empty tree: were an
    option let through, the copy would fail at its first step (it finds no other script there)
    instead of starting a build or deleting the real target/pgo."""
    env = {k: v for k, v in os.environ.items() if k not in ("PGO_LTO", "PGO_STATIC")}
    env.update(options)
    with tempfile.TemporaryDirectory() as tree:
        os.mkdir(os.path.join(tree, "scripts"))
        copy = shutil.copy(SCRIPT, os.path.join(tree, "scripts"))
        return subprocess.run(["bash", copy], env=env, capture_output=True, text=True, timeout=60)


class RefusedOptions(unittest.TestCase):
    def test_known_values_pass_the_check(self):
        # Gets past the option check to the first step, which the empty tree lacks.
        run = run_build(PGO_STATIC="1", PGO_LTO="fat")
        self.assertNotEqual(run.returncode, 2, run.stderr)
        self.assertIn("ensure-temporal.sh", run.stderr)

    def test_unknown_static_value_is_refused_by_name(self):
        run = run_build(PGO_STATIC="yes")
        self.assertEqual(run.returncode, 2, run.stderr)
        self.assertIn("PGO_STATIC='yes'", run.stderr)
        self.assertIn("PGO_STATIC=1", run.stderr)

    def test_unknown_lto_value_is_refused_by_name(self):
        run = run_build(PGO_LTO="thin")
        self.assertEqual(run.returncode, 2, run.stderr)
        self.assertIn("PGO_LTO='thin'", run.stderr)


if __name__ == "__main__":
    unittest.main()
