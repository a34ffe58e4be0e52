"""pki_store inventory end to end on two emulated clusters: the root from variables, each cluster's intermediates issued once and
read back from the cluster afterwards. site.yml converges (at -vvv: no key in the output) and a rerun changes nothing and rewrites
no CA Secret, nor does install.yml alone on one cluster;
nothing is written on the controller; bad root variables, a cluster under another root and a key that does not
match are refused before anything is written; an intermediate rotation through the same store, and the install after it."""

import datetime
import glob
import os
import re
import sys

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "rotation"))

from rotation_env import Mesh  # noqa: E402  pylint: disable=wrong-import-position
from emulator.mesh import pki  # noqa: E402  pylint: disable=wrong-import-position

CLUSTERS = ["p1", "p2"]
MESH_CHECK_REPORT_TASK = "meshops.ambient_spire.mesh_check : Read every cluster and evaluate the checks (one process, the clusters in " \
    "parallel)"


def _root(name):
    cert, key = pki.make_ca(name, pathlen=2)
    return pki.pem(cert), pki.key_pem(key), pki.fingerprint(cert)


def _leaf():
    """A certificate that is no CA (basicConstraints CA:FALSE), with its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "not a CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True).sign(key, hashes.SHA256()))
    return pki.pem(cert), pki.key_pem(key)


ROOT_A = _root("Inventory Root A")


@pytest.fixture(scope="module")
def store(emulator_factory):
    """Two clusters with pki_store inventory (pki_dir points at a folder that must never appear)."""
    handle = emulator_factory(CLUSTERS)
    return Mesh(handle, extra={"pki_store": "inventory", "pki_root_ca_cert": ROOT_A[0], "pki_root_ca_key": ROOT_A[1],
                               "pki_dir": os.path.join(handle.base_dir, "pki-must-not-exist")})


def _controller_files_with_keys(mesh):
    """Files under the run's temporary folder and next to the inventory that hold a private key (the inventory itself holds the
    root key, as Ansible Vault or an AWX credential would give it: not a file the run wrote)."""
    found = []
    for folder in (mesh.handle.tmpdir, os.path.dirname(mesh.inventory)):
        for path in glob.glob(os.path.join(folder, "**", "*"), recursive=True):
            written = os.path.isfile(path) and os.path.realpath(path) != os.path.realpath(mesh.inventory)
            if written and not path.startswith(mesh.handle.state_dir):
                with open(path, "rb") as handle:
                    if b"PRIVATE KEY" in handle.read():
                        found.append(path)
    return found


def _changed_tasks(stdout):
    """The names of the tasks that reported changed in an ansible-playbook output."""
    changed, task = set(), None
    for line in stdout.splitlines():
        match = re.match(r"^TASK \[(.*)\] \*+$", line)
        if match:
            task = match.group(1)
        elif line.startswith("changed: ") and task:
            changed.add(task)
    return changed


def test_inventory_store_converges_then_changes_nothing(store):
    proc, recap = store.run("site.yml", args=["-vvv"])
    assert proc.returncode == 0 and all(r["failed"] == 0 for r in recap.values()), proc.stdout[-6000:]
    assert "PRIVATE KEY" not in proc.stdout + proc.stderr
    assert not os.path.exists(store.pki_dir) and _controller_files_with_keys(store) == []
    for cluster in CLUSTERS:
        cacerts = store.secret(cluster, "istio-system", "cacerts")
        upstream = store.secret(cluster, "spire-server", "spiffe-upstream-ca")
        assert cacerts["root-cert.pem"] == upstream["bundle.crt"] == ROOT_A[0]
        for pem_text in (cacerts["ca-cert.pem"], upstream["tls.crt"]):
            assert pki.verify(pki.load_certs(pem_text)[0], [], pki.load_certs(ROOT_A[0]))
    # a rerun reads the material back and keeps it: nothing changes, the CA Secrets are not rewritten, still no file
    versions = dict((c, store.resource_versions(c)) for c in CLUSTERS)
    proc, recap = store.run("site.yml")
    assert proc.returncode == 0 and all(recap[c]["changed"] == 0 for c in CLUSTERS), proc.stdout[-6000:]
    assert dict((c, store.resource_versions(c)) for c in CLUSTERS) == versions
    writes = store.writes()
    proc, recap = store.run("pki.yml")
    assert proc.returncode == 0 and all(recap[c]["changed"] == 0 for c in CLUSTERS) and store.writes() == writes, proc.stdout[-4000:]
    # install.yml alone, one cluster (a slice of an AWX job): it reads back that cluster's material by itself
    proc, recap = store.run("install.yml", args=["--limit", "p2"])
    assert proc.returncode == 0 and set(recap) == {"p2"} and recap["p2"]["changed"] == 0, proc.stdout[-4000:]
    assert store.writes() == writes
    assert not os.path.exists(store.pki_dir) and _controller_files_with_keys(store) == []


@pytest.mark.parametrize("variables,message", [
    ({"pki_root_ca_cert": ""}, "pki (p1): p1: pki_root_ca_cert is empty: set it to the PEM certificate of the root CA"),
    ({"pki_root_ca_cert": _leaf()[0], "pki_root_ca_key": _leaf()[1]}, "pki_root_ca_cert is not a CA certificate: 'not a CA'"),
    ({"pki_root_ca_key": _root("Other")[1]}, "pki_root_ca_key does not match pki_root_ca_cert 'Inventory Root A'"),
    ({"pki_root_ca_cert": _root("Root B")[0], "pki_root_ca_key": None},
     "Secret istio-system/cacerts of cluster p1 is under another root: its root-cert.pem holds 'Inventory Root A'"),
], ids=["missing", "not-a-ca", "key-mismatch", "another-root"])
def test_refusals_write_nothing(store, variables, message):
    if variables.get("pki_root_ca_key", "") is None:   # a consistent root B, but the clusters are under root A
        other = _root("Root B")
        variables = {"pki_root_ca_cert": other[0], "pki_root_ca_key": other[1]}
    writes = store.writes()
    proc, recap = store.run("pki.yml", variables)
    assert proc.returncode != 0 and recap["p1"]["failed"] == 1, proc.stdout[-4000:]
    assert message in proc.stdout, proc.stdout[-4000:]
    assert "PRIVATE KEY" not in proc.stdout + proc.stderr
    assert store.writes() == writes


def test_intermediate_rotation_in_the_inventory_store(store):
    """New intermediates with the inventory store (read back from the clusters on resume, nothing on the controller); the
    install afterwards keeps them."""
    before = dict((c, store.secret(c, "istio-system", "cacerts")["ca-cert.pem"]) for c in CLUSTERS)
    store.reset_probe()
    proc, _recap = store.rotate({"rotate_ca_id": "inv-1", "rotate_ca_batch": 2})
    assert proc.returncode == 0, proc.stdout[-6000:]
    store.wait_probe_rounds(10)
    assert store.probe()["failed"] == 0
    after = dict((c, store.secret(c, "istio-system", "cacerts")) for c in CLUSTERS)
    for cluster in CLUSTERS:
        assert after[cluster]["ca-cert.pem"] != before[cluster] and after[cluster]["root-cert.pem"] == ROOT_A[0]
        assert store.state(cluster)["after"]["istio"] == pki.fingerprint(pki.load_certs(after[cluster]["ca-cert.pem"])[0])
    assert not os.path.exists(store.pki_dir) and _controller_files_with_keys(store) == []
    versions = dict((c, store.resource_versions(c)) for c in CLUSTERS)
    proc, recap = store.run("site.yml")
    # The install keeps the new intermediates: no CA Secret rewritten, nothing changed on the clusters. The one change allowed is
    # the mesh check's report files on the controller, which the rotation's gates do not write: they now show the new chains.
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert _changed_tasks(proc.stdout) <= {MESH_CHECK_REPORT_TASK}, proc.stdout[-6000:]
    assert dict((c, store.resource_versions(c)) for c in CLUSTERS) == versions
