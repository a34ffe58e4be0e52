"""The preflight (playbooks/preflight.yml, and the first play of site.yml) on one emulator whose clusters are each broken in
one way (issue 14, item 1):

- ready: fit for the install; it is read as "installer", a user holding exactly the RBAC rules the preflight returns;
- rbac: read as "limited", a user lacking two of them;   version: Kubernetes 1.28 (Istio 1.27 supports 1.29 to 1.33);
- storage: no StorageClass at all;                     psa: spire-server enforces Pod Security "restricted";
- istiod: an istiod that istioctl installed;           gwapi: Gateway API CRDs of the experimental channel, v1.3.0;
- spirecrds: the SPIRE CRDs of a release in another namespace;   cacerts: a cacerts under a foreign root;
- nodes: Windows nodes only;                           down: an API server that resets every connection.

Each broken cluster fails with exactly its check's error, naming the cluster and saying what to fix; no cluster gets a write.
The run is at -vvv with a license that expires in 10 days: every cluster fails on it too, and the key never appears.
Then site.yml on ready, storage and psa: the broken two stop at the preflight without a write, and ready converges as
"installer" (the rules are enough for the whole install), after which the preflight still passes on it (the conflict checks
know the collection's own installs)."""

import base64
import datetime
import json
import os
import re
import sys
import xml.etree.ElementTree as ET

import pytest
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "roles"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))),
                                ".build", "collections"))

from install_helpers import ROOT, counters, run_playbook, write_inventory  # noqa: E402  pylint: disable=wrong-import-position
from emulator.mesh import pki as emulator_pki  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.meshops.ambient_spire.plugins.module_utils._preflight import access  # noqa: E402  pylint: disable=wrong-import-position

pytestmark = pytest.mark.slow

NAMESPACES = {"spire": "spire-server", "gloo": "gloo-mesh", "istio": "istio-system", "eastwest": "istio-eastwest"}
BROKEN = {"rbac": "rbac", "version": "kubernetes_version", "storage": "storage", "psa": "pod_security", "istiod": "existing_istiod",
          "gwapi": "gateway_api_crds", "spirecrds": "existing_spire", "cacerts": "existing_ca", "nodes": "ztunnel_nodes", "down": "reachable"}
CLUSTERS = ["ready"] + list(BROKEN)
# What each failure says (its message, then its fix), as the failing task prints it
SAYS = {
    "rbac": ("RBAC Check: limited may not make 2 of the", "Fix: Give the identity the install runs with"),
    "version": ("Kubernetes Version Check: Kubernetes 1.28.5 is outside the versions Istio 1.27 supports (1.29 to 1.33",
                "Fix: Choose an Istio release that supports Kubernetes 1.28"),
    "storage": ("Storage Check (spire-server datastore): no default StorageClass (classes: none)", "storageclass.kubernetes.io/is-default-class=true"),
    "psa": ('Pod Security Admission Check: namespace spire-server enforces Pod Security "restricted"',
            "kubectl label namespace spire-server pod-security.kubernetes.io/enforce=privileged"),
    "istiod": ("Existing istiod Check: istiod istio-system/istiod (revision default, installed by istioctl/IstioOperator) is not managed by "
               "the Gloo Operator", "Fix: Two control planes in one cluster"),
    "gwapi": ("Gateway API CRD Check: gateways.gateway.networking.k8s.io is from the experimental channel (v1.3.0)",
              "gloo_operator_gateway_api_install: false"),
    "spirecrds": ("Existing SPIRE Check: CRD clusterspiffeids.spire.spiffe.io belongs to Helm release security/spire-crds, not to the "
                  "release spire-server/spire-crds", "meta.helm.sh/release-namespace"),
    "cacerts": ("Existing CA Check: istio-system/cacerts is under root SHA256", "not the PKI's root SHA256"),
    "nodes": ("Node Check (ztunnel, SPIRE agent): no Ready Linux node that can run ztunnel and the SPIRE agent (2 nodes; not for ztunnel: "
              "nodes-node-1 (not Linux), nodes-node-2 (not Linux))", "Fix: ztunnel and the SPIRE agent are DaemonSets"),
    "down": ("Reachability Check: cluster down is not reachable", "Fix: Check the cluster's connection"),
}


def _emulator_rules(rules):
    """access.rbac_rules() as the emulator's user rules (a Role's rules apply in its namespace only)."""
    result = [dict(rule) for rule in rules["cluster_role"]]
    for namespace, role_rules in rules["roles"].items():
        result += [dict(rule, namespaces=[namespace]) for rule in role_rules]
    return result


def _limited(rules):
    """The installer's rules without create on clusterroles and update on secrets in spire-server."""
    out = []
    for rule in rules:
        rule = dict(rule, verbs=list(rule["verbs"]))
        if rule["resources"] == ["clusterroles"] and "resourceNames" not in rule:
            rule["verbs"].remove("create")
        if rule["resources"] == ["secrets"] and rule.get("namespaces") == ["spire-server"]:
            rule["verbs"].remove("update")
        out.append(rule)
    return out


def _jwt(days):
    def part(doc):
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")
    exp = int((datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days)).timestamp())
    return "%s.%s.%s" % (part({"alg": "ES256", "typ": "JWT"}), part({"exp": exp, "lt": "enterprise"}), "c2lnbmF0dXJlLW5vdC1jaGVja2Vk")


def _break(handle):
    """Break each cluster in its one way (objects seeded through the emulator's admin route, as another tool would have made them)."""
    def seed(cluster, *items):
        handle.admin(cluster, "POST", "/_emulator/objects", {"items": list(items)})

    seed("psa", {"apiVersion": "v1", "kind": "Namespace",
                 "metadata": {"name": "spire-server", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}})
    labels = {"app": "istiod", "istio.io/rev": "default", "install.operator.istio.io/owning-resource": "installed-state"}
    seed("istiod", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}},
         {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "istiod", "namespace": "istio-system", "labels": labels},
          "spec": {"selector": {"matchLabels": {"app": "istiod"}}, "template": {
              "metadata": {"labels": {"app": "istiod"}}, "spec": {"containers": [{"name": "discovery", "image": "istio/pilot:1.24.2"}]}}}})
    with open(os.path.join(ROOT, "tests", "charts", "gateway-api", "standard-install.yaml")) as fh:
        crd = next(d for d in yaml.safe_load_all(fh) if d and d["metadata"]["name"] == "gateways.gateway.networking.k8s.io")
    crd["metadata"]["annotations"].update({"gateway.networking.k8s.io/bundle-version": "v1.3.0", "gateway.networking.k8s.io/channel": "experimental"})
    seed("gwapi", crd)
    # the SPIRE CRDs as a Helm release of another namespace leaves them (helm install spire-crds -n security)
    with open(os.path.join(ROOT, "tests", "charts", "spire-crds", "templates", "spire.spiffe.io_clusterspiffeids.yaml")) as fh:
        spire_crd = yaml.safe_load(fh)
    spire_crd["metadata"].setdefault("annotations", {}).update({"meta.helm.sh/release-name": "spire-crds", "meta.helm.sh/release-namespace": "security"})
    spire_crd["metadata"].setdefault("labels", {}).update({"app.kubernetes.io/managed-by": "Helm"})
    seed("spirecrds", spire_crd)
    foreign = emulator_pki.make_ca("Foreign Root CA", pathlen=2)
    seed("cacerts", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}},
         {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cacerts", "namespace": "istio-system"},
          "data": {"root-cert.pem": base64.b64encode(emulator_pki.pem(foreign[0]).encode()).decode()}})
    handle.kubectl("label", "node", "nodes-node-1", "nodes-node-2", "kubernetes.io/os=windows", "--overwrite", context="nodes")
    handle.fault("down", outage=True)


@pytest.fixture(scope="module")
def broken(emulator_factory):
    rules = _emulator_rules(access.rbac_rules(NAMESPACES))
    handle = emulator_factory(CLUSTERS, kubernetes_version="version=1.28.5", default_storage_class="storage=none",
                              users={"ready": [{"name": "installer", "rules": rules}], "rbac": [{"name": "limited", "rules": _limited(rules)}]})
    _break(handle)
    inventory = write_inventory(handle)
    with open(inventory) as fh:
        data = json.load(fh)
    data["all"]["children"]["k8s_clusters"]["hosts"].update({"ready": {"kube_context": "installer@ready"},
                                                             "rbac": {"kube_context": "limited@rbac"}})
    with open(inventory, "w") as fh:
        json.dump(data, fh)
    # the PKI's root, as the pki role would have written it (site.yml's pki role later issues its own root over it)
    os.makedirs(os.path.join(handle.base_dir, "pki"))
    with open(os.path.join(handle.base_dir, "pki", "root-ca-bundle.pem"), "w") as fh:
        fh.write(emulator_pki.pem(emulator_pki.make_ca("SPIRE Root CA", pathlen=2)[0]))
    before = counters(handle)
    # at -vvv, with a license that expires in 10 days (an error of every cluster, the key never shown)
    key = _jwt(days=10)
    proc, _elapsed, recap = run_playbook(handle, "preflight.yml", inventory=inventory, args=["-vvv", "-e", json.dumps({"mesh_license_key": key})])
    return {"handle": handle, "inventory": inventory, "before": before, "proc": proc, "recap": recap, "key": key,
            "reports": os.path.join(handle.base_dir, "reports")}


def _failure_text(proc, host):
    """The msg lines of the failing task of one host, joined (the result is one JSON line, or a block at -vvv)."""
    head = re.escape("fatal: [%s]: FAILED! => " % host)
    match = re.search(r"^%s(\{.+\})$" % head, proc.stdout, re.M) or re.search(r"^%s(\{\n.*?\n\})$" % head, proc.stdout, re.M | re.S)
    assert match, "no failure for %s:\n%s" % (host, proc.stdout[-6000:])
    return "\n".join(json.loads(match.group(1))["msg"])


def test_each_broken_cluster_fails_with_its_check_and_the_fix(broken):
    proc, recap = broken["proc"], broken["recap"]
    assert proc.returncode != 0
    for host, (message, fix) in SAYS.items():
        assert recap[host]["failed"] == 1, host
        text = _failure_text(proc, host)
        assert "preflight found issues with %s (cluster %s); nothing was written:" % (host, host) in text
        assert message in text and fix in text, (host, text)
    with open(os.path.join(broken["reports"], "preflight.json")) as fh:
        report = json.load(fh)
    errors = {}
    for finding in report["findings"]:
        if finding["level"] == "error":
            errors.setdefault(finding["cluster"], set()).add(finding["check"])
    assert errors == dict([(host, {check}) for host, check in BROKEN.items()] + [(None, {"license"})]), errors
    assert report["summary"]["unread_clusters"] == ["down"]
    # the ready cluster: every check ok, read as a user that holds exactly the rules the preflight returns
    ready = [f for f in report["findings"] if f["cluster"] == "ready"]
    assert [f["check"] for f in ready] == ["reachable", "rbac", "kubernetes_version", "ztunnel_nodes", "storage", "pod_security",
                                           "existing_istiod", "gateway_api_crds", "existing_spire", "existing_ca"]
    assert all(f["level"] == "ok" for f in ready), ready
    assert "installer may make all" in next(f["message"] for f in ready if f["check"] == "rbac")
    assert "admin may do everything" in next(f["message"] for f in report["findings"] if f["cluster"] == "psa" and f["check"] == "rbac")


def test_an_expiring_license_fails_every_cluster_and_never_shows(broken):
    proc, key = broken["proc"], broken["key"]
    output = proc.stdout + proc.stderr
    assert broken["recap"]["ready"]["failed"] == 1
    text = _failure_text(proc, "ready")
    assert re.search(r"License Check: the license key expires on \d{4}-\d\d-\d\d, in (9|10) days \(fewer than 30\), according to its exp "
                     r"claim .*\. Fix: Set mesh_license_key", text), text
    assert key not in output and key.split(".")[1] not in output
    with open(os.path.join(broken["reports"], "preflight.json")) as fh:
        assert key.split(".")[1] not in fh.read()
    for cluster, state in broken["handle"].state["clusters"].items():
        for token in list((state.get("users") or {}).values()) + [state["token"]]:
            assert token not in output, cluster


def test_the_rbac_failure_lists_what_is_denied(broken):
    with open(os.path.join(broken["reports"], "preflight.json")) as fh:
        report = json.load(fh)
    rbac = next(f for f in report["findings"] if f["cluster"] == "rbac" and f["check"] == "rbac")
    assert rbac["message"].startswith("limited may not make 2 of the %d requests the install makes: " % len(access.need_reviews(NAMESPACES)))
    assert "create clusterroles.rbac.authorization.k8s.io cluster-wide" in rbac["message"]
    assert "update secrets in spire-server" in rbac["message"]


def test_the_preflight_writes_nothing_to_any_cluster(broken):
    after = counters(broken["handle"])
    for cluster in CLUSTERS:
        assert after[cluster][1] == broken["before"][cluster][1], "%s: %d writes" % (cluster, after[cluster][1] - broken["before"][cluster][1])


def test_junit_report(broken):
    tree = ET.parse(os.path.join(broken["reports"], "preflight.junit.xml"))
    failed = set()
    for case in tree.iter("testcase"):
        if case.find("failure") is not None:
            failed.add(case.get("name"))
    assert "Storage Check (spire-server datastore) [storage]" in failed and "Reachability Check [down]" in failed
    assert not [name for name in failed if name.endswith("[ready]")]
    assert len(failed) == len(BROKEN) + 1 and "License Check [mesh]" in failed


def test_site_stops_at_the_preflight_and_the_rules_are_enough_for_the_install(broken):
    """site.yml on ready, storage and psa: the two broken ones stop before any write; ready converges as "installer"."""
    handle = broken["handle"]
    # an inventory of these three only: the PKI is issued for the inventory's clusters, not for eleven
    with open(broken["inventory"]) as fh:
        data = json.load(fh)
    hosts = data["all"]["children"]["k8s_clusters"]["hosts"]
    data["all"]["children"]["k8s_clusters"]["hosts"] = dict((h, hosts[h]) for h in ("ready", "storage", "psa"))
    inventory = os.path.join(handle.base_dir, "three.yml")
    with open(inventory, "w") as fh:
        json.dump(data, fh)
    before = counters(handle)
    proc, _elapsed, recap = run_playbook(handle, "site.yml", inventory=inventory)
    after = counters(handle)
    assert proc.returncode != 0
    for host in ("storage", "psa"):
        assert recap[host]["failed"] == 1 and after[host][1] == before[host][1], (host, proc.stdout[-4000:])
        assert "preflight found issues with %s" % host in proc.stdout
    assert recap["ready"]["failed"] == 0, proc.stdout[-8000:]
    assert "ready: converged (single cluster, nothing to link)" in proc.stdout or "ready: converged, not linked" in proc.stdout, proc.stdout[-3000:]
    assert after["ready"][1] > before["ready"][1]
    # installed by the collection: the preflight still passes on it
    proc, _elapsed, recap = run_playbook(handle, "preflight.yml", inventory=inventory, args=["--limit", "ready"])
    assert proc.returncode == 0 and recap["ready"]["failed"] == 0, proc.stdout[-4000:]
    with open(os.path.join(handle.base_dir, "reports", "preflight.json")) as fh:
        report = json.load(fh)
    messages = dict((f["check"], f["message"]) for f in report["findings"] if f["cluster"] == "ready")
    assert messages["existing_istiod"] == "no istiod outside the Gloo Operator's (istio-system/istiod-gloo)"
    assert messages["existing_spire"] == "SPIRE CRDs belong to the release spire-server/spire-crds"
    assert messages["existing_ca"] == "istio-system/cacerts is under the PKI's root; spire-server/spiffe-upstream-ca is under the PKI's root"
    assert messages["gateway_api_crds"] == "already v1.2.1 standard: the install applies standard v1.2.1"
    assert messages["storage"].startswith("spire-server's claim spire-data-spire-server-0 is already Bound") or \
        messages["storage"].startswith("spire-server's claim gets the default StorageClass")
