"""Fixtures shared by every integration area: emulated clusters (tests/emulator/README.md)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from emulator.testing import EmulatorHandle  # noqa: E402  pylint: disable=wrong-import-position

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import upstream_charts  # noqa: E402  pylint: disable=wrong-import-position


def pytest_report_header(config):  # pylint: disable=unused-argument
    """Which SPIRE charts the install tests use (the real ones when the workplace has them)."""
    return upstream_charts.note()


@pytest.fixture(scope="session")
def emulator_factory(tmp_path_factory):
    """emulator_factory(["c1", "c2"], nodes=2, **options) starts a fresh emulator (stopped at session end); options:
    kubernetes_version, default_storage_class, users, settings (`up --set KEY=VALUE` controller settings: the mesh's,
    tests/emulator/mesh/README.md); see emulator.testing.EmulatorHandle."""
    started = []

    def start(clusters=("cluster1", "cluster2"), nodes=2, **options):
        handle = EmulatorHandle(clusters, str(tmp_path_factory.mktemp("emulator")), nodes, **options)
        started.append(handle)
        return handle

    yield start
    for handle in started:
        handle.stop()


@pytest.fixture(scope="session")
def emulator(emulator_factory):  # pylint: disable=redefined-outer-name
    """A session-wide emulator with cluster1 and cluster2."""
    return emulator_factory(["cluster1", "cluster2"])
