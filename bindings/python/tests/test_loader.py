"""Finding the shared library: SALESFSM_LIBRARY, and a clear error when it is wrong."""
import ast
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

import salesfsm

from support import PACKAGE_ROOT

PROBE = textwrap.dedent("""
    import sys
    try:
        import salesfsm
    except Exception as exc:
        print(type(exc).__name__)
        print(isinstance(exc, OSError))
        print([path for path, why in getattr(exc, "tried", [])])
        print(exc)
        sys.exit(3)
    print("loaded", salesfsm.library_path())
""")


def run_import(library):
    env = {k: v for k, v in os.environ.items() if k != "SALESFSM_LIBRARY"}
    env["PYTHONPATH"] = PACKAGE_ROOT
    if library is not None:
        env["SALESFSM_LIBRARY"] = library
    return subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                          text=True, timeout=60)


class Loader(unittest.TestCase):
    def test_nonexistent_path_fails_with_library_not_found_listing_it(self):
        with tempfile.TemporaryDirectory() as d:
            missing = os.path.join(d, "nowhere", "libsalesfsm.so.0")
            proc = run_import(missing)
        self.assertEqual(proc.returncode, 3, proc.stdout + proc.stderr)
        lines = proc.stdout.splitlines()
        self.assertEqual(lines[0], "LibraryNotFoundError")
        self.assertEqual(lines[1], "True")  # an OSError
        tried = ast.literal_eval(lines[2])
        self.assertEqual(tried[0], missing)
        # An explicit path that is wrong must not fall through to another copy.
        self.assertEqual([p for p in tried[1:] if "libsalesfsm" in p], [])
        message = "\n".join(lines[3:])
        self.assertIn(missing, message)
        self.assertIn("no such file", message)
        self.assertIn("SALESFSM_LIBRARY", message)

    def test_a_file_that_is_not_a_library(self):
        with tempfile.TemporaryDirectory() as d:
            bogus = os.path.join(d, "libsalesfsm.so.0")
            with open(bogus, "w") as f:
                f.write("not an ELF file\n")
            proc = run_import(bogus)
        self.assertEqual(proc.returncode, 3, proc.stdout + proc.stderr)
        self.assertEqual(proc.stdout.splitlines()[0], "LibraryNotFoundError")
        self.assertIn(bogus, proc.stdout)

    def test_the_library_named_by_the_environment_is_the_one_loaded(self):
        library = os.environ.get("SALESFSM_LIBRARY")
        if not library:
            self.skipTest("SALESFSM_LIBRARY is not set")
        proc = run_import(library)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout.strip(), f"loaded {library}")
        self.assertEqual(salesfsm.library_path(), library)

    def test_versions(self):
        self.assertRegex(salesfsm.library_version(), r"^\d+\.\d+\.\d+$")
        self.assertEqual(salesfsm.library_version(), salesfsm.__version__)

    def test_public_names(self):
        for name in salesfsm.__all__:
            self.assertTrue(hasattr(salesfsm, name), name)
        self.assertTrue(issubclass(salesfsm.LibraryNotFoundError, OSError))


if __name__ == "__main__":
    unittest.main()
