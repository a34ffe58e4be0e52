# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import copy
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from k8s_fake import FakeCluster, api  # noqa: E402  pylint: disable=wrong-import-position
from test_k8s_state import release_secret  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _k8s_apply, _k8s_state  # noqa: E402

MANAGER = _k8s_apply.DEFAULT_FIELD_MANAGER
GATEWAY_KINDS = {"gateway.networking.k8s.io/v1": {"Gateway": ("gateways", True)}}
SPIFFE_KINDS = {"spire.spiffe.io/v1alpha1": {"ClusterSPIFFEID": ("clusterspiffeids", False)}}

NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system", "labels": {"topology.istio.io/network": "n1"}}}
CONFIGMAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "gloo-extensions-config", "namespace": "gloo-mesh"},
             "data": {"values.istiod": "x: 1\n"}}
SPIFFE_ID = {"apiVersion": "spire.spiffe.io/v1alpha1", "kind": "ClusterSPIFFEID", "metadata": {"name": "istio-ztunnel-reg"},
             "spec": {"className": "spire-server-spire", "podSelector": {"matchLabels": {"app": "ztunnel"}}}}


def run(cluster, params, check_mode=False, diff=False, attempts=3):
    sleeps = []
    result = _k8s_apply.run(api(cluster, attempts=attempts, sleeps=sleeps), dict({"cluster": "c1"}, **params), check_mode=check_mode,
                            diff=diff, sleep=sleeps.append)
    return result, sleeps


def writes(cluster):
    return [entry for entry in cluster.log if entry[0] != "GET"]


def test_first_apply_creates_and_a_rerun_sends_no_write():
    cluster = FakeCluster(SPIFFE_KINDS)
    result, _sleeps = run(cluster, {"definitions": [NAMESPACE, CONFIGMAP, SPIFFE_ID]})
    assert result["changed"] and [(c["kind"], c["action"]) for c in result["changes"]] == [
        ("Namespace", "create"), ("ConfigMap", "create"), ("ClusterSPIFFEID", "create")]
    assert len(writes(cluster)) == 3
    cluster.log[:] = []
    result, _sleeps = run(cluster, {"definitions": [NAMESPACE, CONFIGMAP, SPIFFE_ID]})
    assert not result["changed"] and result["changes"] == [] and writes(cluster) == []
    assert result["api"] == {"requests": len(cluster.log), "writes": 0, "retries": 0} and "warnings" not in result


def test_drift_out_of_band_is_repaired_and_reported_with_its_fields():
    cluster = FakeCluster(SPIFFE_KINDS)
    run(cluster, {"definitions": [NAMESPACE, SPIFFE_ID]})
    cluster.objects.pop(cluster.path(SPIFFE_ID))  # deleted out of band
    cluster.get(NAMESPACE)["metadata"]["labels"]["topology.istio.io/network"] = "edited"  # edited out of band
    result, _sleeps = run(cluster, {"definitions": [NAMESPACE, SPIFFE_ID]})
    assert result["changed"]
    assert [(c["kind"], c["action"], c["fields"]) for c in result["changes"]] == [
        ("Namespace", "update", ["metadata.labels['topology.istio.io/network']"]), ("ClusterSPIFFEID", "create", [])]
    assert cluster.get(NAMESPACE)["metadata"]["labels"]["topology.istio.io/network"] == "n1" and cluster.get(SPIFFE_ID)


def test_check_mode_predicts_without_any_write_and_lists_the_fields():
    cluster = FakeCluster(SPIFFE_KINDS)
    run(cluster, {"definitions": [NAMESPACE]})
    cluster.log[:] = []
    changed_namespace = copy.deepcopy(NAMESPACE)
    changed_namespace["metadata"]["labels"]["topology.istio.io/network"] = "n2"
    result, _sleeps = run(cluster, {"definitions": [changed_namespace, CONFIGMAP]}, check_mode=True)
    assert writes(cluster) == []
    assert [(c["kind"], c["action"], c["fields"]) for c in result["changes"]] == [
        ("Namespace", "update", ["metadata.labels['topology.istio.io/network']"]), ("ConfigMap", "create", [])]
    assert cluster.get(NAMESPACE)["metadata"]["labels"]["topology.istio.io/network"] == "n1"


def test_check_mode_on_a_kind_not_served_yet_predicts_a_create():
    cluster = FakeCluster()
    result, _sleeps = run(cluster, {"definitions": [SPIFFE_ID]}, check_mode=True)
    assert result["changes"][0]["action"] == "create" and "not served" in result["changes"][0]["note"] and writes(cluster) == []
    with pytest.raises(_k8s_apply.ApplyError, match="ClusterSPIFFEID/istio-ztunnel-reg: spire.spiffe.io/v1alpha1 ClusterSPIFFEID is not served"):
        run(cluster, {"definitions": [SPIFFE_ID]})


def test_a_field_no_longer_applied_is_removed():
    cluster = FakeCluster()
    with_old = copy.deepcopy(NAMESPACE)
    with_old["metadata"]["labels"]["old"] = "x"
    run(cluster, {"definitions": [with_old]})
    result, _sleeps = run(cluster, {"definitions": [NAMESPACE]})
    assert result["changes"][0]["fields"] == ["metadata.labels.old"]
    assert "old" not in cluster.get(NAMESPACE)["metadata"]["labels"]
    assert not run(cluster, {"definitions": [NAMESPACE]})[0]["changed"]


def test_diff_hides_secret_values():
    cluster = FakeCluster()
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {"name": "cacerts", "namespace": "istio-system"},
              "data": {"ca-key.pem": base64.b64encode(b"PRIVATE KEY").decode()}}
    result, _sleeps = run(cluster, {"definitions": [secret]}, diff=True)
    assert result["diff"][0]["after"]["data"] == {"ca-key.pem": _k8s_state.HIDDEN}
    assert "PRIVATE" not in repr(result) and secret["data"]["ca-key.pem"] not in repr(result)


def test_secrets_are_compared_by_digest_without_their_data():
    cluster = FakeCluster()
    data = {"tls.key": base64.b64encode(b"key").decode()}
    spec = {"name": "spiffe-upstream-ca", "namespace": "spire-server", "data_digest": _k8s_state.content_digest(data)}
    result, _sleeps = run(cluster, {"secrets": [spec]})
    assert result["secrets_to_apply"] == ["spire-server/spiffe-upstream-ca"] and result["deferred"] and writes(cluster) == []
    assert result["changes"] == [{"kind": "Secret", "api_version": "v1", "name": "spiffe-upstream-ca", "namespace": "spire-server",
                                  "action": "create", "fields": ["data"]}]
    run(cluster, {"definitions": [{"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                                   "metadata": {"name": "spiffe-upstream-ca", "namespace": "spire-server"}, "data": data}]})
    result, _sleeps = run(cluster, {"secrets": [spec]})
    assert result["secrets_to_apply"] == [] and not result["deferred"] and not result["changed"]
    result, _sleeps = run(cluster, {"secrets": [dict(spec, data_digest=_k8s_state.content_digest({"tls.key": "b3RoZXI="}))]})
    assert result["secrets_to_apply"] == ["spire-server/spiffe-upstream-ca"] and result["changes"][0]["fields"] == ["data"]


WORKLOAD_MANIFEST = "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: spire-server}\n"


def deployment(ready):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "spire-server", "namespace": "spire-server", "generation": 1},
            "spec": {"replicas": 1}, "status": {"observedGeneration": 1, "readyReplicas": 1 if ready else 0, "updatedReplicas": 1}}


def release(values=None):
    return {"name": "spire", "namespace": "spire-server", "chart_ref": "spire", "chart_version": "0.24.2",
            "values_digest": _k8s_state.content_digest(values or {"a": 1})}


def with_release(cluster, status="deployed", values=None):
    record = release_secret("spire", 1, status, config=values or {"a": 1}, manifest=WORKLOAD_MANIFEST)
    record.update(apiVersion="v1", kind="Secret")
    record["metadata"]["namespace"] = "spire-server"
    cluster.add(record)


def test_a_converged_release_is_left_alone_and_its_workloads_waited_for():
    cluster = FakeCluster({"apps/v1": {"Deployment": ("deployments", True)}})
    with_release(cluster)
    cluster.add(deployment(False))
    result, sleeps = run(cluster, {"releases": [release()], "wait": {"retries": 3, "delay": 2}})
    assert result["releases"]["spire"]["converged"] and not result["deferred"] and not result["changed"]
    assert result["ready"] is False and result["not_ready"] == ["Deployment spire-server/spire-server 0/1 ready (1 updated) (release spire)"]
    assert result["wait"]["attempts"] == 3 and sleeps == [2.0, 2.0]
    cluster.add(deployment(True))
    result, sleeps = run(cluster, {"releases": [release()], "wait": {"retries": 3, "delay": 2}})
    assert result["ready"] is True and result["wait"]["attempts"] == 1 and sleeps == []


def test_a_release_that_differs_or_is_pending_is_left_to_helm_and_defers_the_rest():
    cluster = FakeCluster({"apps/v1": {"Deployment": ("deployments", True)}})
    with_release(cluster, values={"a": 2})
    result, _sleeps = run(cluster, {"releases": [release()], "after_releases": [NAMESPACE], "wait": {"retries": 3}})
    assert result["deferred"] and result["ready"] is None and "wait" not in result and writes(cluster) == []
    assert result["changes"] == [{"kind": "HelmRelease", "name": "spire", "namespace": "spire-server", "action": "upgrade",
                                  "fields": ["values differ"]}]
    cluster.objects.clear()
    with_release(cluster, status="pending-upgrade")
    assert run(cluster, {"releases": [release()]})[0]["changes"][0]["action"] == "recover"
    cluster.objects.clear()
    assert run(cluster, {"releases": [release()]})[0]["changes"][0]["action"] == "install"


def test_after_releases_are_applied_once_the_releases_are_converged():
    cluster = FakeCluster({"apps/v1": {"Deployment": ("deployments", True)}})
    with_release(cluster)
    cluster.add(deployment(True))
    result, _sleeps = run(cluster, {"releases": [release()], "after_releases": [NAMESPACE]})
    assert not result["deferred"] and result["changes"][0]["kind"] == "Namespace" and cluster.get(NAMESPACE)


def test_wait_for_pods_and_applied_objects_rereads_them():
    cluster = FakeCluster(GATEWAY_KINDS)
    gateway = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {"name": "istio-eastwest", "namespace": "istio-eastwest"},
               "spec": {"gatewayClassName": "istio-eastwest"}}
    rules = {"retries": 2, "delay": 1, "objects": [{"kind": "Gateway", "condition": {"type": "Programmed", "status": "True"},
                                                    "fields": ["status.addresses"]}],
             "pods": [{"name": "istiod", "namespace": "istio-system", "labels": {"app": "istiod"}}]}
    result, sleeps = run(cluster, {"definitions": [gateway], "wait": rules})
    assert result["ready"] is False and sleeps == [1.0]
    assert result["not_ready"] == ["istiod 0/0", "Gateway istio-eastwest/istio-eastwest: Programmed=unset; no status.addresses"]
    live = cluster.get(gateway)
    live["status"] = {"conditions": [{"type": "Programmed", "status": "True"}], "addresses": [{"value": "192.0.2.1"}]}
    cluster.add({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "istiod-1", "namespace": "istio-system", "labels": {"app": "istiod"}},
                 "status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    result, sleeps = run(cluster, {"definitions": [gateway], "wait": rules})
    assert result["ready"] is True and sleeps == [] and result["objects"][0]["status"]["addresses"] == [{"value": "192.0.2.1"}]


def test_wait_on_change_only():
    cluster = FakeCluster(GATEWAY_KINDS)
    peer = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {"name": "istio-remote-peer-c2", "namespace": "istio-eastwest"},
            "spec": {"gatewayClassName": "istio-remote"}}
    rules = {"retries": 2, "delay": 1, "on_change_only": True,
             "objects": [{"kind": "Gateway", "condition": {"type": "gloo.solo.io/PeerConnected", "status": "True"}}]}
    result, _sleeps = run(cluster, {"definitions": [peer], "wait": rules})
    assert result["ready"] is False
    result, sleeps = run(cluster, {"definitions": [peer], "wait": rules})
    assert result["ready"] is None and sleeps == []


def test_prune_deletes_only_what_matches_and_is_not_kept():
    cluster = FakeCluster(GATEWAY_KINDS)
    for name, klass in (("istio-remote-peer-c2", "istio-remote"), ("istio-remote-peer-gone", "istio-remote"),
                        ("istio-remote-peer-waypoint", "istio-waypoint"), ("istio-eastwest", "istio-eastwest")):
        cluster.add({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {"name": name, "namespace": "istio-eastwest"},
                     "spec": {"gatewayClassName": klass}})
    rule = {"api_version": "gateway.networking.k8s.io/v1", "kind": "Gateway", "namespace": "istio-eastwest", "name_prefix": "istio-remote-peer-",
            "match_fields": {"spec.gatewayClassName": "istio-remote"}, "keep": ["istio-remote-peer-c2"]}
    result, _sleeps = run(cluster, {"prune": [rule]}, check_mode=True)
    assert [(c["name"], c["action"]) for c in result["changes"]] == [("istio-remote-peer-gone", "delete")] and writes(cluster) == []
    run(cluster, {"prune": [rule]})
    names = sorted(obj["metadata"]["name"] for obj in cluster.objects.values())
    assert names == ["istio-eastwest", "istio-remote-peer-c2", "istio-remote-peer-waypoint"]


def test_transient_errors_are_retried_and_a_failure_says_what_and_how_often():
    cluster = FakeCluster()
    cluster.faults = [(503, "Service Unavailable", "emulated fault"), (None, None, "connection reset by peer")]
    result, sleeps = run(cluster, {"definitions": [NAMESPACE]})
    assert result["changed"] and sleeps == [1.0, 1.0] and result["api"]["retries"] == 2
    assert result["warnings"] == ["cluster c1: 2 request(s) sent again after transient errors, the last: connection error: connection reset by peer "
                                  "(GET /api/v1/namespaces/istio-system)"]
    cluster.faults = [(503, "Service Unavailable", "emulated fault: the server is currently unable to handle the request")] * 3
    with pytest.raises(_k8s_apply.ApplyError) as exc:
        run(cluster, {"definitions": [NAMESPACE]})
    assert str(exc.value) == ("cluster c1: HTTP 503 Service Unavailable: emulated fault: the server is currently unable to handle the request "
                              "(GET /api/v1/namespaces/istio-system)")
    assert exc.value.attempts == 3
    cluster.faults = [(403, "Forbidden", "namespaces is forbidden")]
    with pytest.raises(_k8s_apply.ApplyError) as exc:
        run(cluster, {"definitions": [NAMESPACE]})
    assert exc.value.attempts == 1 and "HTTP 403 Forbidden: namespaces is forbidden" in str(exc.value)


def test_manifests_from_files(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("---\n# comment only\n---\napiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n"
                    "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n")
    assert [m["metadata"]["name"] for m in _k8s_apply.read_sources([str(path)])] == ["a", "b"]
    assert _k8s_apply.read_sources(["https://example.invalid/x.yaml"], fetch_url=lambda url: "kind: Namespace\napiVersion: v1\nmetadata: {name: c}\n")[0][
        "metadata"]["name"] == "c"


def test_a_packaged_chart_gives_its_name_and_version(tmp_path):
    """A release installed from a .tgz (helm package) is compared with the name and version of the Chart.yaml inside."""
    import io
    import tarfile
    from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_apply import _chart_identity
    path = tmp_path / "spire-0.24.2.tgz"
    with tarfile.open(str(path), "w:gz") as archive:
        for name, text in (("spire/Chart.yaml", b"name: spire\nversion: 0.24.2\n"), ("spire/charts/sub/Chart.yaml", b"name: sub\nversion: 9\n")):
            info = tarfile.TarInfo(name)
            info.size = len(text)
            archive.addfile(info, io.BytesIO(text))
    assert _chart_identity(str(path), None) == ("spire", "0.24.2")
    assert _chart_identity(str(path), "0.25.0") == ("spire", "0.25.0")
    (tmp_path / "broken.tgz").write_bytes(b"not a tar file")
    assert _chart_identity(str(tmp_path / "broken.tgz"), None) == ("broken.tgz", None)


# --- Helm: the releases that differ installed in the same run (the helm option) ---

class FakeHelm(object):
    """helm upgrade --install as a run_command: records argv, env and the values file; the release becomes deployed (a
    record with the values, its Deployment ready) unless a failure is queued."""

    def __init__(self, cluster, failures=()):
        self.cluster = cluster
        self.failures = list(failures)
        self.calls = []

    def __call__(self, argv, env):
        values_path = argv[argv.index("--values") + 1]
        with open(values_path) as handle:
            values = json.load(handle)
        self.calls.append({"argv": argv, "env": env, "values": values, "mode": os.stat(values_path).st_mode & 0o777})
        if self.failures:
            return 1, "", self.failures.pop(0)
        revision = 1 + max([int(obj["metadata"]["labels"]["version"]) for key, obj in self.cluster.objects.items()
                            if "/secrets/sh.helm.release" in key] or [0])
        record = release_secret(argv[3], revision, "deployed", config=values, manifest=WORKLOAD_MANIFEST)
        record.update(apiVersion="v1", kind="Secret")
        record["metadata"]["namespace"] = argv[argv.index("--namespace") + 1]
        self.cluster.add(record)
        self.cluster.add(deployment(True))
        return 0, "Release %s has been upgraded." % argv[3], ""


SPIRE_VALUES = {"global": {"spire": {"trustDomain": "c1.example"}}}


def helm_release():
    return {"name": "spire", "namespace": "spire-server", "chart_ref": "spire", "chart_version": "0.24.2",
            "chart_repo_url": "https://charts.example/", "create_namespace": True, "values": SPIRE_VALUES}


def run_helm(cluster, helm, params, check_mode=False, attempts=3):
    sleeps = []
    params = dict({"cluster": "c1", "helm": {"timeout": "5m", "recover_pending": True}, "api_attempts": attempts, "api_retry_delay": 2}, **params)
    result = _k8s_apply.run(api(cluster, attempts=attempts, sleeps=sleeps), params, check_mode=check_mode, sleep=sleeps.append,
                            run_command=helm, environ={})
    return result, sleeps


def test_helm_installs_a_missing_release_with_one_process_then_waits_for_its_workloads():
    cluster = FakeCluster({"apps/v1": {"Deployment": ("deployments", True)}})
    helm = FakeHelm(cluster)
    result, _sleeps = run_helm(cluster, helm, {"releases": [helm_release()], "after_releases": [NAMESPACE], "wait": {"retries": 2}})
    assert len(helm.calls) == 1
    call = helm.calls[0]
    assert call["argv"][:6] == ["helm", "upgrade", "--install", "spire", "spire", "--namespace"]
    for flags in (["--atomic"], ["--wait"], ["--timeout", "5m"], ["--version", "0.24.2"], ["--repo", "https://charts.example/"],
                  ["--create-namespace"]):
        index = call["argv"].index(flags[0])
        assert call["argv"][index:index + len(flags)] == flags
    # the values travel through a file only the user can read, removed afterwards
    assert call["values"] == SPIRE_VALUES and call["mode"] == 0o600
    assert not os.path.exists(call["argv"][call["argv"].index("--values") + 1])
    assert result["helm"]["spire"]["attempts"] == 1 and result["helm"]["spire"]["forgotten"] == []
    assert result["releases"]["spire"]["converged"] and not result["deferred"] and result["ready"] is True
    assert [change["action"] for change in result["changes"]] == ["install", "create"]
    # the next run reads a converged release: no helm, no write
    before = len(writes(cluster))
    result, _sleeps = run_helm(cluster, helm, {"releases": [helm_release()], "after_releases": [NAMESPACE]})
    assert len(helm.calls) == 1 and not result["changed"] and "helm" not in result and len(writes(cluster)) == before


def test_helm_upgrades_a_release_whose_values_differ_and_not_in_check_mode():
    cluster = FakeCluster({"apps/v1": {"Deployment": ("deployments", True)}})
    with_release(cluster, values={"a": 1})
    helm = FakeHelm(cluster)
    result, _sleeps = run_helm(cluster, helm, {"releases": [helm_release()], "after_releases": [NAMESPACE]}, check_mode=True)
    # check mode: nothing runs, nothing is written, the upgrade and what follows are predicted
    assert helm.calls == [] and writes(cluster) == [] and not result["deferred"]
    assert [(change["kind"], change["action"]) for change in result["changes"]] == [("HelmRelease", "upgrade"), ("Namespace", "create")]
    result, _sleeps = run_helm(cluster, helm, {"releases": [helm_release()]})
    assert len(helm.calls) == 1 and result["releases"]["spire"]["revision"] == 2 and result["releases"]["spire"]["converged"]


def test_helm_forgets_revisions_left_pending_or_failed_first_or_names_them():
    cluster = FakeCluster({"apps/v1": {"Deployment": ("deployments", True)}})
    with_release(cluster, status="pending-upgrade")
    helm = FakeHelm(cluster)
    pending = r"release spire-server/spire: revisions sh.helm.release.v1.spire.v1 are left pending or failed by an interrupted run"
    with pytest.raises(_k8s_apply.ApplyError, match=pending):
        run_helm(cluster, helm, {"releases": [helm_release()], "helm": {"recover_pending": False, "timeout": "5m"}})
    assert helm.calls == [] and writes(cluster) == []
    result, _sleeps = run_helm(cluster, helm, {"releases": [helm_release()]})
    assert ("DELETE", "/api/v1/namespaces/spire-server/secrets/sh.helm.release.v1.spire.v1") in writes(cluster)
    assert result["helm"]["spire"]["forgotten"] == ["sh.helm.release.v1.spire.v1"] and len(helm.calls) == 1
    assert result["changes"][0]["action"] == "recover" and result["releases"]["spire"]["converged"]


def test_helm_environment_points_helm_at_the_tasks_connection():
    from ansible_collections.meshops.ambient_spire.plugins.module_utils import _helm_install
    kubeconfig = {"apiVersion": "v1", "kind": "Config", "users": [{"name": "u", "user": {"token": "s3cret"}}]}
    env, flags, files = _helm_install.helm_environment(
        {"kubeconfig": kubeconfig, "context": "c1", "verify_ssl": False, "ssl_ca_cert": "/ca.crt"},
        {"Impersonate-User": "admin", "Impersonate-Group": ["g1", "g2"]})
    try:
        assert env["KUBECONFIG"] == files[0] and os.stat(files[0]).st_mode & 0o777 == 0o600
        with open(files[0]) as handle:
            assert json.load(handle) == kubeconfig
        assert env["HELM_KUBECONTEXT"] == "c1" and env["HELM_KUBEINSECURE_SKIP_TLS_VERIFY"] == "true" and env["HELM_KUBECAFILE"] == "/ca.crt"
        assert flags == ["--kube-as-user", "admin", "--kube-as-group", "g1", "--kube-as-group", "g2"]
    finally:
        for path in files:
            os.unlink(path)
    env, flags, files = _helm_install.helm_environment({"kubeconfig": "~/kc", "host": "https://h", "api_key": "t"}, {})
    assert env == {"KUBECONFIG": os.path.expanduser("~/kc"), "HELM_KUBEAPISERVER": "https://h", "HELM_KUBETOKEN": "t"}
    assert flags == [] and files == []


def test_a_kubeconfig_dict_given_to_helm_is_removed_after_the_run(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    cluster = FakeCluster({"apps/v1": {"Deployment": ("deployments", True)}})
    helm = FakeHelm(cluster)
    run_helm(cluster, helm, {"releases": [helm_release()], "kubeconfig": {"apiVersion": "v1", "kind": "Config"}})
    assert helm.calls[0]["env"]["KUBECONFIG"].startswith(str(tmp_path)) and os.listdir(str(tmp_path)) == []


def test_helm_retries_a_failed_install_and_a_last_failure_says_what_helm_said():
    cluster = FakeCluster({"apps/v1": {"Deployment": ("deployments", True)}})
    helm = FakeHelm(cluster, failures=["Error: context deadline exceeded"])
    result, sleeps = run_helm(cluster, helm, {"releases": [helm_release()]})
    assert len(helm.calls) == 2 and result["helm"]["spire"]["attempts"] == 2 and 2 in sleeps
    cluster.objects.clear()
    helm = FakeHelm(cluster, failures=["Error: one", "Error: two", "Error: UPGRADE FAILED: timed out waiting for the condition"])
    last = r"cluster c1: helm upgrade --install spire in spire-server failed after 3 attempt\(s\), exit 1: Error: UPGRADE FAILED: timed out"
    with pytest.raises(_k8s_apply.ApplyError, match=last):
        run_helm(cluster, helm, {"releases": [helm_release()]})
    assert len(helm.calls) == 3


def test_helm_waits_for_the_secrets_left_to_another_task():
    cluster = FakeCluster({"apps/v1": {"Deployment": ("deployments", True)}})
    helm = FakeHelm(cluster)
    secret = {"name": "spire-upstream-ca", "namespace": "spire-server", "data_digest": _k8s_state.content_digest({"tls.crt": "eA=="})}
    result, _sleeps = run_helm(cluster, helm, {"releases": [helm_release()], "secrets": [secret]})
    assert helm.calls == [] and result["deferred"] and result["secrets_to_apply"] == ["spire-server/spire-upstream-ca"]


def test_a_wait_with_a_fail_message_fails_when_it_times_out_but_not_in_check_mode():
    cluster = FakeCluster({"apps/v1": {"Deployment": ("deployments", True)}})
    with_release(cluster)
    cluster.add(deployment(False))
    wait = {"retries": 2, "delay": 1, "fail_message": "SPIRE is not ready on c1 after 2 x 1 s: {not_ready}. Look at: kubectl"}
    result, sleeps = run(cluster, {"releases": [release()], "wait": wait})
    assert result["failed"] and result["msg"] == ("SPIRE is not ready on c1 after 2 x 1 s: Deployment spire-server/spire-server 0/1 ready "
                                                  "(1 updated) (release spire). Look at: kubectl")
    assert result["not_ready"] and sleeps == [1.0]
    result, sleeps = run(cluster, {"releases": [release()], "wait": wait}, check_mode=True)
    assert "failed" not in result and result["ready"] is False
    cluster.add(deployment(True))
    result, sleeps = run(cluster, {"releases": [release()], "wait": wait})
    assert "failed" not in result and result["ready"] is True
