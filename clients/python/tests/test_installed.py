"""The tests run against the installed package when the test runner says so (MLMONITORING_EXPECT_INSTALLED=1)."""

import importlib.metadata
import os
import sys
import unittest

import mlmonitoring


class InstalledTest(unittest.TestCase):
    def test_the_package_comes_from_the_installed_distribution(self):
        if os.environ.get("MLMONITORING_EXPECT_INSTALLED") != "1":
            # Run from a checkout (PYTHONPATH=clients/python): nothing to check about the installation.
            return
        self.assertNotEqual(sys.prefix, sys.base_prefix, "not running in a venv")
        self.assertTrue(mlmonitoring.__file__.startswith(sys.prefix), mlmonitoring.__file__)
        self.assertEqual("0.1.0", importlib.metadata.version("mlmonitoring"))
        self.assertEqual(importlib.metadata.version("mlmonitoring"), mlmonitoring.__version__)
        # Type checkers read the hints of an installed package only with its PEP 561 marker.
        self.assertTrue(os.path.exists(os.path.join(os.path.dirname(mlmonitoring.__file__), "py.typed")))
        from mlmonitoring.v1 import monitoring_pb2  # the generated stubs are packaged too
        self.assertEqual("mlmonitoring.v1.PredictionEvent", monitoring_pb2.PredictionEvent.DESCRIPTOR.full_name)


if __name__ == "__main__":
    unittest.main()
