"""Fixtures of the trust-model tests: fresh linked meshes (trustenv.Mesh) on emulated clusters."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import trustenv  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture
def fresh_mesh(emulator_factory):
    """fresh_mesh(clusters, multiroot=True, settings=None): a new emulator with the procedure walked and the peers linked."""
    def make(clusters=("c1", "c2"), multiroot=True, settings=None):
        return trustenv.Mesh(emulator_factory(list(clusters), settings=settings)).walk(multiroot=multiroot)
    return make


@pytest.fixture(scope="module")
def mesh(emulator_factory):
    """One linked two-cluster mesh for the tests of a module that leave it linked."""
    return trustenv.Mesh(emulator_factory(["east", "west"])).walk()
