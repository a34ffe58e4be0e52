"""Test PKI for the mesh simulation tests: a root, per-cluster SPIRE upstream and istiod intermediates (EC, fast)."""

import os

from emulator.mesh import pki


def write(path, text):
    """Write a file (0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    return path


class TestPki:
    """root CA + per cluster: spire/{ca.crt,ca.key,ca-chain.pem}, istio/{ca-cert.pem,ca-key.pem,root-cert.pem,cert-chain.pem}."""

    __test__ = False

    def __init__(self, base, clusters, root_name="SPIRE Root CA"):
        self.base = base
        self.root, self.root_key = pki.make_ca(root_name, pathlen=2)
        self.root_pem = pki.pem(self.root)
        os.makedirs(base, exist_ok=True)
        write(os.path.join(base, "root-ca-bundle.pem"), self.root_pem)
        self.files = {}
        for name in clusters:
            self.add_cluster(name)

    def add_cluster(self, name):
        """Issue the two intermediates of one cluster and write its files."""
        d = os.path.join(self.base, name)
        os.makedirs(d, exist_ok=True)
        spire_ca, spire_key = pki.make_ca("SPIRE %s CA" % name, self.root, self.root_key, pathlen=1)
        istio_ca, istio_key = pki.make_ca("Istio %s intermediate CA" % name, self.root, self.root_key, pathlen=0)
        files = {
            "spire_crt": write(os.path.join(d, "ca.crt"), pki.pem(spire_ca)),
            "spire_key": write(os.path.join(d, "ca.key"), pki.key_pem(spire_key)),
            "spire_chain": write(os.path.join(d, "ca-chain.pem"), pki.pem(spire_ca) + self.root_pem),
            "istio_ca": write(os.path.join(d, "ca-cert.pem"), pki.pem(istio_ca)),
            "istio_key": write(os.path.join(d, "ca-key.pem"), pki.key_pem(istio_key)),
            "istio_root": write(os.path.join(d, "root-cert.pem"), self.root_pem),
            "istio_chain": write(os.path.join(d, "cert-chain.pem"), pki.pem(istio_ca) + self.root_pem),
        }
        self.files[name] = files
        return files
