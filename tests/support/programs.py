"""A program a test runs (a browser, an office suite) that .ci/run installs from Debian when missing."""
from __future__ import annotations

import os
import shutil

import pytest


def required_program(names: tuple[str, ...], package: str) -> str:
    """The first of ``names`` on PATH. Missing, the test skips on a developer's machine and fails
    under CI=true (where .ci/run has installed ``package``)."""
    for name in names:
        if found := shutil.which(name):
            return found
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and no {names[0]}: .ci/run installs Debian's {package} package")
    pytest.skip(f"no {names[0]} on this machine (apt-get install {package}; .ci/run does)")
