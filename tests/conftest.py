"""Fixtures shared by every test module. Keep this file small."""
from __future__ import annotations

import shutil
import socket
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# `pytest` run straight from a checkout (no `pip install -e .`) still imports the package in the tree.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it: bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(name="free_port")
def free_port_fixture() -> int:
    return free_port()


@pytest.fixture(scope="session")
def openssl() -> str:
    """Path of the `openssl` command; the test is skipped where it isn't installed."""
    path = shutil.which("openssl")
    if path is None:
        pytest.skip("openssl command not installed")
    return path
