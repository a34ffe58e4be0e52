"""authorization.k8s.io and a per-token RBAC model (issue 14, item 4): SelfSubjectAccessReview and `kubectl auth can-i`
answer from the same rules that make other requests 403 with the API server's message, so an RBAC preflight and the
install agree. The cluster's own token stays cluster-admin."""

import json

import pytest
from kube import ok, request

pytestmark = pytest.mark.slow

READER_RULES = [{"verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["configmaps", "pods", "pods/log"], "namespaces": ["team"]},
                {"verbs": ["create", "patch"], "apiGroups": ["apps"], "resources": ["deployments"], "namespaces": ["team"]},
                {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["namespaces"]}]


@pytest.fixture(scope="module")
def rbac(emulator_factory):
    """cluster1 with a user "reader" given at start (--users, context reader@cluster1), and namespaces team and other."""
    handle = emulator_factory(["cluster1", "cluster2"], users={"cluster1": [{"name": "reader", "rules": READER_RULES}]})
    for ns in ("team", "other"):
        handle.kubectl("create", "namespace", ns, context="cluster1")
        handle.kubectl("create", "configmap", "settings", "-n", ns, "--from-literal=a=b", context="cluster1")
    return handle


def _token(handle):
    return handle.state["clusters"]["cluster1"]["users"]["reader"]


def test_requests_outside_the_rules_get_the_api_servers_403(rbac):
    token = _token(rbac)
    cases = [
        ("GET", "/api/v1/namespaces/other/configmaps", None,
         'configmaps is forbidden: User "reader" cannot list resource "configmaps" in API group "" in the namespace "other"'),
        ("GET", "/api/v1/namespaces/other/configmaps/settings", None,
         'configmaps "settings" is forbidden: User "reader" cannot get resource "configmaps" in API group "" in the namespace "other"'),
        ("POST", "/api/v1/namespaces/team/configmaps", {"metadata": {"name": "new"}},
         'configmaps is forbidden: User "reader" cannot create resource "configmaps" in API group "" in the namespace "team"'),
        ("DELETE", "/api/v1/namespaces/team/configmaps/settings", None,
         'configmaps "settings" is forbidden: User "reader" cannot delete resource "configmaps" in API group "" in the namespace "team"'),
        ("PUT", "/api/v1/namespaces/team/configmaps/settings", {"metadata": {"name": "settings"}},
         'configmaps "settings" is forbidden: User "reader" cannot update resource "configmaps" in API group "" in the namespace "team"'),
        ("GET", "/apis/apps/v1/namespaces/team/deployments", None,
         'deployments.apps is forbidden: User "reader" cannot list resource "deployments" in API group "apps" in the namespace "team"'),
        ("GET", "/api/v1/configmaps", None,
         'configmaps is forbidden: User "reader" cannot list resource "configmaps" in API group "" at the cluster scope'),
        ("DELETE", "/api/v1/namespaces/team", None,
         'namespaces "team" is forbidden: User "reader" cannot delete resource "namespaces" in API group "" at the cluster scope'),
        ("PATCH", "/apis/apps/v1/namespaces/team/deployments/web/status", {},
         'deployments.apps "web" is forbidden: User "reader" cannot patch resource "deployments/status" in API group "apps" in the namespace "team"'),
    ]
    for method, path, body, message in cases:
        content = "application/merge-patch+json" if method == "PATCH" else "application/json"
        status, answer, _headers = request(rbac, "cluster1", method, path, body, content, token=token)
        assert status == 403 and answer["message"] == message and answer["reason"] == "Forbidden", (method, path, answer)
    status, answer, _headers = request(rbac, "cluster1", "GET", "/api/v1/namespaces/team/configmaps/settings", token=token)
    assert status == 200 and answer["data"] == {"a": "b"}
    assert request(rbac, "cluster1", "GET", "/api/v1/namespaces", token=token)[0] == 200
    assert request(rbac, "cluster1", "GET", "/apis", token=token)[0] == 200           # discovery: every authenticated user
    status, answer, _headers = request(rbac, "cluster1", "GET", "/api/v1/namespaces/other/configmaps/settings", token=token)
    assert answer["details"] == {"name": "settings", "group": "", "kind": "configmaps"}
    # the token belongs to cluster1 only; the cluster's own token is cluster-admin
    assert request(rbac, "cluster2", "GET", "/api/v1/namespaces", token=token)[0] == 401
    assert request(rbac, "cluster1", "DELETE", "/api/v1/namespaces/other/configmaps/settings")[0] == 200


def test_self_subject_access_review_and_kubectl_auth_can_i_agree(rbac):
    token = _token(rbac)
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": {"resourceAttributes": {
        "namespace": "team", "verb": "create", "group": "apps", "resource": "deployments"}}}
    status, answer, _headers = request(rbac, "cluster1", "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review, token=token)
    assert status == 201 and answer["status"]["allowed"] is True and answer["spec"] == review["spec"]
    review["spec"]["resourceAttributes"]["namespace"] = "other"
    answer = ok(rbac, "cluster1", "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review, token=token)
    assert answer["status"] == {"allowed": False}
    admin = ok(rbac, "cluster1", "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review)
    assert admin["status"]["allowed"] is True and admin["status"]["reason"].startswith("RBAC: allowed by ClusterRoleBinding")

    def can_i(*args):
        return rbac.kubectl("auth", "can-i", *args, context="reader@cluster1", check=False)
    assert can_i("list", "configmaps", "-n", "team").stdout.strip() == "yes"
    refused = can_i("list", "configmaps", "-n", "other")
    assert refused.stdout.strip() == "no" and refused.returncode == 1
    assert can_i("get", "pods", "--subresource=log", "-n", "team").stdout.strip() == "yes"
    assert can_i("delete", "namespaces").stdout.strip() == "no"
    assert rbac.kubectl("auth", "can-i", "*", "*", "--all-namespaces", context="cluster1").stdout.strip() == "yes"
    listing = can_i("--list", "-n", "team").stdout
    assert "configmaps" in listing and "deployments.apps" in listing and "selfsubjectaccessreviews.authorization.k8s.io" in listing
    whoami = json.loads(rbac.kubectl("auth", "whoami", "-o", "json", context="reader@cluster1").stdout)
    assert whoami["status"]["userInfo"]["username"] == "reader"
    # the same rules decide real requests
    denied = rbac.kubectl("get", "configmaps", "-n", "other", context="reader@cluster1", check=False)
    assert denied.returncode == 1 and 'User "reader" cannot list resource "configmaps"' in denied.stderr


def test_users_added_and_reset_through_the_admin_route(rbac):
    token = rbac.add_user("cluster1", "deployer", [{"verbs": ["*"], "apiGroups": ["apps"], "resources": ["*"]}])
    assert request(rbac, "cluster1", "GET", "/apis/apps/v1/deployments", token=token)[0] == 200
    assert request(rbac, "cluster1", "GET", "/api/v1/secrets", token=token)[0] == 403
    names = {u["name"] for u in rbac.admin("cluster1", "GET", "/_emulator/rbac/users")["users"]}
    assert names == {"kubernetes-admin", "reader", "deployer"}
    bad = rbac.kubectl("auth", "can-i", "get", "pods", "--token", token, "--context", "cluster1", check=False)
    assert bad.stdout.strip() == "no"
    rbac.admin("cluster1", "DELETE", "/_emulator/rbac/users")
    assert request(rbac, "cluster1", "GET", "/apis/apps/v1/deployments", token=token)[0] == 401
    assert request(rbac, "cluster1", "GET", "/api/v1/secrets")[0] == 200
    rbac.admin("cluster1", "POST", "/_emulator/rbac/users", {"name": "reader", "rules": READER_RULES, "token": _token(rbac)})
