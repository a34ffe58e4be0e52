"""Shared emulators of the mesh simulation tests: the procedure walked on two clusters (session scope), and a
one-cluster emulator for SPIRE/license variants."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import meshenv  # noqa: E402  pylint: disable=wrong-import-position
from meshpki import TestPki  # noqa: E402  pylint: disable=wrong-import-position

CLUSTERS = ("cluster1", "cluster2")


class Walked:
    """Two clusters after the procedure: SPIRE, shared root cacerts, Gloo Operator + SMC, Gateway API, east-west
    gateways, and istio-remote peer gateways both ways."""

    def __init__(self, handle, pki):
        self.handle = handle
        self.pki = pki
        self.read = {c: meshenv.Reader(handle, c) for c in CLUSTERS}
        self.address = {}

    def walk(self):
        """Run the procedure (multicluster part) with helm and kubectl."""
        h = self.handle
        for c in CLUSTERS:
            files = self.pki.files[c]
            meshenv.install_spire(h, c, files, c, bundle=self.pki.root_pem)
            meshenv.apply(h, c, meshenv.cluster_spiffe_ids())
            meshenv.install_cacerts(h, c, files)
            meshenv.install_gloo(h, c, c, c, c)
            meshenv.expose(h, c, c, c)
            self.address[c] = meshenv.eastwest_address(h, c)
        for src in CLUSTERS:
            for dst in CLUSTERS:
                if src != dst:
                    meshenv.apply(h, src, [meshenv.remote_gateway(dst, dst, dst, self.address[dst])])
        return self

    def connected(self, src, dst):
        """PeerConnected/PeeringSucceeded/PeerDataPlaneProgrammed all True on src's gateway to dst."""
        return self.read[src].peer_state("istio-remote-peer-%s" % dst) == ("True", "True", "True")

    def wait_connected(self):
        """Both directions connected."""
        for src, dst in (CLUSTERS, CLUSTERS[::-1]):
            meshenv.wait_for(lambda s=src, d=dst: self.connected(s, d), what="%s -> %s connected" % (src, dst))


@pytest.fixture(scope="session")
def walked(emulator_factory, tmp_path_factory):
    """The procedure walked once for the whole session; tests that break something restore it."""
    handle = emulator_factory(list(CLUSTERS))
    pki = TestPki(str(tmp_path_factory.mktemp("pki")), CLUSTERS)
    env = Walked(handle, pki).walk()
    env.wait_connected()
    return env


@pytest.fixture(scope="session")
def single(emulator_factory, tmp_path_factory):
    """A one-cluster emulator ("solo") and a PKI for it."""
    handle = emulator_factory(["solo"])
    return handle, TestPki(str(tmp_path_factory.mktemp("pki-solo")), ["solo"])
