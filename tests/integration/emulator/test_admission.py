"""Admission a real API server applies (issue 14, items 1, 3, 4): ServiceAccounts enforced and their token Secrets
filled, Pod Security admission from namespace labels, webhook configurations stored (never called)."""

import base64
import json

import pytest
from kube import condition, kubectl_json, ok, request, wait_for, wait_value

pytestmark = pytest.mark.slow

PRIVILEGED_AGENT = {"metadata": {"name": "agent"}, "spec": {
    "selector": {"matchLabels": {"app": "agent"}}, "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {
        "hostNetwork": True, "hostPID": True,
        "containers": [{"name": "agent", "image": "example/agent:1", "securityContext": {"privileged": True},
                        "ports": [{"containerPort": 9982}]}],
        "volumes": [{"name": "sockets", "hostPath": {"path": "/run/agent"}}]}}}}


def _namespace(handle, name, labels=None):
    ok(handle, "cluster2", "POST", "/api/v1/namespaces", {"metadata": {"name": name, "labels": labels or {}}})


def _events(handle, ns, reason):
    items = ok(handle, "cluster2", "GET", "/api/v1/namespaces/%s/events" % ns)["items"]
    return [e["message"] for e in items if e["reason"] == reason]


def test_pods_need_their_service_account(emulator):
    """The ServiceAccount admission plugin refuses a Pod whose ServiceAccount does not exist; a ReplicaSet controller that
    cannot create its Pods records FailedCreate and the ReplicaFailure condition, and creates them once it exists."""
    _namespace(emulator, "sa-test")
    status, answer, _headers = request(emulator, "cluster2", "POST", "/api/v1/namespaces/sa-test/pods", {
        "metadata": {"name": "lonely"}, "spec": {"serviceAccountName": "missing", "containers": [{"name": "c", "image": "busybox:1"}]}})
    assert status == 403 and answer["reason"] == "Forbidden"
    assert answer["message"] == ('pods "lonely" is forbidden: error looking up service account sa-test/missing: '
                                 'serviceaccount "missing" not found')
    ok(emulator, "cluster2", "POST", "/apis/apps/v1/namespaces/sa-test/deployments", {"metadata": {"name": "web"}, "spec": {
        "replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
            "serviceAccountName": "web", "containers": [{"name": "c", "image": "nginx:1.27"}]}}}})
    dep = wait_value(lambda: ok(emulator, "cluster2", "GET", "/apis/apps/v1/namespaces/sa-test/deployments/web"),
                     lambda d: condition(d, "ReplicaFailure"), what="ReplicaFailure")
    rs_name = condition(dep, "ReplicaFailure")["message"].split('"')[1]
    assert condition(dep, "ReplicaFailure")["message"] == (
        'pods "%s" is forbidden: error looking up service account sa-test/web: serviceaccount "web" not found' % rs_name)
    assert rs_name.startswith("web-") and rs_name.endswith("-")            # generateName of the ReplicaSet's Pods
    assert any(m.startswith('Error creating: pods "web-') for m in _events(emulator, "sa-test", "FailedCreate"))
    ok(emulator, "cluster2", "POST", "/api/v1/namespaces/sa-test/serviceaccounts", {"metadata": {"name": "web"}})
    wait_for(lambda: ok(emulator, "cluster2", "GET", "/apis/apps/v1/namespaces/sa-test/deployments/web")["status"].get("readyReplicas") == 2,
             what="Pods created once the ServiceAccount exists")


def test_service_account_token_secrets_get_a_token(emulator):
    _namespace(emulator, "tokens")
    ok(emulator, "cluster2", "POST", "/api/v1/namespaces/tokens/serviceaccounts", {"metadata": {"name": "builder"}})
    ok(emulator, "cluster2", "POST", "/api/v1/namespaces/tokens/secrets", {
        "metadata": {"name": "builder-token", "annotations": {"kubernetes.io/service-account.name": "builder"}},
        "type": "kubernetes.io/service-account-token"})
    secret = wait_value(lambda: ok(emulator, "cluster2", "GET", "/api/v1/namespaces/tokens/secrets/builder-token"),
                        lambda s: "token" in (s.get("data") or {}), what="token filled in")
    assert set(secret["data"]) == {"token", "ca.crt", "namespace"}
    assert base64.b64decode(secret["data"]["namespace"]) == b"tokens"
    assert b"BEGIN CERTIFICATE" in base64.b64decode(secret["data"]["ca.crt"])
    token = base64.b64decode(secret["data"]["token"]).decode()
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["sub"] == "system:serviceaccount:tokens:builder"
    account = ok(emulator, "cluster2", "GET", "/api/v1/namespaces/tokens/serviceaccounts/builder")
    assert secret["metadata"]["annotations"]["kubernetes.io/service-account.uid"] == account["metadata"]["uid"]
    status, answer, _headers = request(emulator, "cluster2", "POST", "/api/v1/namespaces/tokens/secrets", {
        "metadata": {"name": "orphan"}, "type": "kubernetes.io/service-account-token"})
    assert status == 422 and answer["message"] == ('Secret "orphan" is invalid: metadata.annotations[kubernetes.io/service-account.name]: '
                                                   'Required value')


def test_pod_security_admission_refuses_privileged_pods(emulator):
    """pod-security.kubernetes.io/enforce: baseline refuses the privileged SPIRE agent / CSI driver kind of Pod with
    the checks' messages (k8s.io/pod-security-admission); a DaemonSet of them is admitted with a warning and its Pods are
    refused (FailedCreate) until the namespace allows them."""
    _namespace(emulator, "psa-baseline", {"pod-security.kubernetes.io/enforce": "baseline"})
    pod = {"metadata": {"name": "agent-pod"}, "spec": PRIVILEGED_AGENT["spec"]["template"]["spec"]}
    status, answer, _headers = request(emulator, "cluster2", "POST", "/api/v1/namespaces/psa-baseline/pods", pod)
    assert status == 403 and answer["message"] == (
        'pods "agent-pod" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork, hostPID), '
        'hostPath volumes (volume "sockets"), hostPort (container "agent" uses hostPort 9982), '
        'privileged (container "agent" must not set securityContext.privileged=true)')
    _namespace(emulator, "psa-restricted", {"pod-security.kubernetes.io/enforce": "restricted",
                                            "pod-security.kubernetes.io/enforce-version": "v1.33"})
    status, answer, _headers = request(emulator, "cluster2", "POST", "/api/v1/namespaces/psa-restricted/pods", {
        "metadata": {"name": "plain"}, "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}})
    assert status == 403 and answer["message"] == (
        'pods "plain" is forbidden: violates PodSecurity "restricted:v1.33": allowPrivilegeEscalation != false '
        '(container "c" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "c" must '
        'set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set '
        'securityContext.runAsNonRoot=true), seccompProfile (pod or container "c" must set securityContext.seccompProfile.type '
        'to "RuntimeDefault" or "Localhost")')
    hardened = {"metadata": {"name": "hardened"}, "spec": {"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                                                           "containers": [{"name": "c", "image": "nginx:1.27", "securityContext": {
                                                               "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}]}}
    assert request(emulator, "cluster2", "POST", "/api/v1/namespaces/psa-restricted/pods", hardened)[0] == 201

    status, _answer, headers = request(emulator, "cluster2", "POST", "/apis/apps/v1/namespaces/psa-baseline/daemonsets", PRIVILEGED_AGENT)
    assert status == 201 and 'would violate PodSecurity \\"baseline:latest\\": host namespaces' in headers["Warning"]
    created = emulator.kubectl("apply", "-f", "-", context="cluster2", stdin=json.dumps(dict(
        PRIVILEGED_AGENT, apiVersion="apps/v1", kind="DaemonSet", metadata={"name": "agent2", "namespace": "psa-baseline"})))
    assert 'Warning: would violate PodSecurity "baseline:latest"' in created.stderr
    wait_for(lambda: any('pods "agent-" is forbidden: violates PodSecurity' in m for m in _events(emulator, "psa-baseline", "FailedCreate")),
             what="FailedCreate of the DaemonSet's Pods")
    ds = ok(emulator, "cluster2", "GET", "/apis/apps/v1/namespaces/psa-baseline/daemonsets/agent")
    assert ds["status"]["desiredNumberScheduled"] == 2 and ds["status"]["currentNumberScheduled"] == 0
    emulator.kubectl("label", "namespace", "psa-baseline", "pod-security.kubernetes.io/enforce=privileged", "--overwrite", context="cluster2")
    wait_for(lambda: ok(emulator, "cluster2", "GET", "/apis/apps/v1/namespaces/psa-baseline/daemonsets/agent")["status"]["numberReady"] == 2,
             what="agent Pods once the namespace is privileged")
    status, answer, _headers = request(emulator, "cluster2", "POST", "/api/v1/namespaces", {
        "metadata": {"name": "psa-typo", "labels": {"pod-security.kubernetes.io/enforce": "strict"}}})
    assert status == 422 and "must be one of privileged, baseline, restricted" in answer["message"]


def test_webhook_configurations_are_stored_and_never_called(emulator):
    """ValidatingWebhookConfiguration / MutatingWebhookConfiguration are accepted and read back; no webhook is called,
    so objects they would intercept (failurePolicy Fail, no service behind) are still admitted."""
    vwc = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration", "metadata": {"name": "guard"},
           "webhooks": [{"name": "vconfigmaps.example.com", "admissionReviewVersions": ["v1"], "sideEffects": "None", "failurePolicy": "Fail",
                         "clientConfig": {"service": {"name": "nowhere", "namespace": "default", "path": "/validate"}},
                         "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["configmaps"]}]}]}
    mwc = dict(vwc, kind="MutatingWebhookConfiguration", metadata={"name": "mutator"})
    emulator.kubectl("apply", "-f", "-", context="cluster2", stdin=json.dumps(vwc) + "\n---\n" + json.dumps(mwc))
    got = kubectl_json(emulator, "get", "validatingwebhookconfiguration", "guard", context="cluster2")
    assert got["webhooks"][0]["failurePolicy"] == "Fail" and got["webhooks"][0]["rules"] == vwc["webhooks"][0]["rules"]
    emulator.kubectl("patch", "validatingwebhookconfiguration", "guard", "--type=strategic", "-p",
                     '{"webhooks": [{"name": "vconfigmaps.example.com", "failurePolicy": "Ignore"}]}', context="cluster2")
    assert kubectl_json(emulator, "get", "validatingwebhookconfiguration", "guard", context="cluster2")["webhooks"][0]["failurePolicy"] == "Ignore"
    assert kubectl_json(emulator, "get", "mutatingwebhookconfiguration", "mutator", context="cluster2")["webhooks"][0]["name"] == "vconfigmaps.example.com"
    assert request(emulator, "cluster2", "POST", "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "unhooked"}})[0] == 201
