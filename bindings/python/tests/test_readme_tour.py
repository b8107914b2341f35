"""The tour in bindings/python/README.md runs as written (on a temporary file)."""

import contextlib
import io
import os
import re
import tempfile
import unittest

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


class ReadmeTour(unittest.TestCase):
    def test_tour_runs_and_prints_what_it_says(self):
        with open(README, encoding="utf-8") as f:
            blocks = re.findall(r"```python\n(.*?)```", f.read(), re.S)
        self.assertEqual(len(blocks), 1, "the README has one Python block: the tour")
        with tempfile.TemporaryDirectory() as tmp:
            code = blocks[0].replace('"/tmp/tour.db"', repr(os.path.join(tmp, "tour.db")))
            self.assertNotEqual(code, blocks[0], "the tour's database path moved")
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(code, README, "exec"), {"__name__": "tour"})
        text = out.getvalue()
        self.assertIn("vetoed: before hook raised PermissionError: the owner cannot sign", text)
        self.assertIn("5 sign negotiating -> signed wang", text)
        self.assertIn("'category': 'closed', 'currency': 'CNY', 'count': 1, 'amount': 12000000",
                      text)
        # 120 000.00 won, 40 000.00 collected: 80 000.00 outstanding, in fen.
        self.assertIn("\n8000000\n", text)
        self.assertIn('"report":"attainment"', text.replace(" ", ""))


if __name__ == "__main__":
    unittest.main()
