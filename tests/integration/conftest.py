"""Shared pytest fixtures for the integration tests."""

import pytest

from emulator import Emulator


@pytest.fixture
def emulator():
    """A fresh catsyncfs-emulator (demo seed) on 127.0.0.1, stopped after
    the test; the stop asserts it exited 0."""
    emu = Emulator()
    try:
        yield emu
    finally:
        emu.stop()
