# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the install (playbooks/site.yml) needs from the Kubernetes API of each cluster. PRIVATE to the collection.

Two lists, both checked with SelfSubjectAccessReviews as the identity the install runs with:

``NEEDS``: the requests the install makes. What the roles apply with kubernetes.core (GET, then POST or PATCH), what Helm does
with the objects of the charts it installs (GET, POST, PATCH on upgrade, DELETE when an atomic install is rolled back or an
upgrade drops an object), its release records (Secrets in the release namespace) and its waits (hook Jobs are watched,
Deployments through their ReplicaSets), what the mesh check at the end reads, and what this preflight, the install's first
step, reads. tests/unit keeps it in sync with what the
roles apply and the charts render; an integration test converges a cluster as a user that holds exactly these rules.

``GRANTS``: what the SPIRE chart's ClusterRoles and Roles grant (spire 0.24.2, hooks included). Kubernetes RBAC lets a user
create a role, or bind one, only with permissions the user holds, unless the user may ``escalate`` (roles) and ``bind``
(bindings) (https://kubernetes.io/docs/reference/access-authn-authz/rbac/#privilege-escalation-prevention-and-bootstrapping):
so they are needed too, unless those two verbs are allowed.

A scope is ``cluster`` (a cluster-scoped resource), ``all`` (a namespaced resource, in every namespace: the mesh check lists
them cluster-wide) or a namespace role: ``spire``, ``gloo``, ``istio``, ``eastwest`` (the namespaces of the options).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import namedtuple

Need = namedtuple("Need", "group resource verbs scope why")

# Verbs by way of use
APPLY = ("get", "create", "patch")                      # kubernetes.core.k8s state=present
HELM = ("get", "create", "patch", "delete")             # an object of a chart Helm installs, upgrades and rolls back
HELM_RECORDS = ("get", "list", "create", "update", "patch", "delete")   # Helm's release Secrets, and Secrets the roles apply
HELM_HOOKS = ("get", "list", "watch", "create", "delete")               # hook Jobs: created, watched until done, deleted
LIST = ("list",)

SCOPES = ("cluster", "all", "spire", "gloo", "istio", "eastwest")

NEEDS = (
    # cluster-scoped
    Need("", "namespaces", ("get", "list", "create", "patch"), "cluster",
         "create the namespaces of SPIRE, the Gloo Operator, Istio and the east-west gateway; label istio-system with its network"),
    Need("apiextensions.k8s.io", "customresourcedefinitions", HELM, "cluster", "the SPIRE CRDs (Helm release) and the Gateway API CRDs"),
    Need("spire.spiffe.io", "clusterspiffeids", HELM + ("list",), "cluster",
         "the ClusterSPIFFEIDs of the spiffe_ids role and of the SPIRE chart, read back until reconciled"),
    Need("rbac.authorization.k8s.io", "clusterroles", HELM, "cluster", "the SPIRE chart's ClusterRoles"),
    Need("rbac.authorization.k8s.io", "clusterrolebindings", HELM, "cluster", "the SPIRE chart's ClusterRoleBindings"),
    Need("admissionregistration.k8s.io", "validatingwebhookconfigurations", HELM, "cluster",
         "the SPIRE controller manager's ValidatingWebhookConfiguration"),
    Need("storage.k8s.io", "csidrivers", HELM, "cluster", "the CSIDriver csi.spiffe.io"),
    Need("operator.gloo.solo.io", "servicemeshcontrollers", APPLY + ("list",), "cluster", "the ServiceMeshController (listed by the preflight)"),
    # read by the preflight
    Need("", "nodes", LIST, "cluster", "the preflight (nodes for ztunnel and the SPIRE agent)"),
    Need("storage.k8s.io", "storageclasses", LIST, "cluster", "the preflight (a StorageClass for spire-server's claim)"),
    # read cluster-wide by the mesh check
    Need("", "pods", LIST, "all", "the mesh check (istiod, ztunnel, east-west and ambient pods)"),
    Need("apps", "deployments", LIST, "all", "the mesh check (istiod)"),
    Need("apps", "daemonsets", LIST, "all", "the mesh check (ztunnel)"),
    Need("", "services", LIST, "all", "the mesh check (east-west Services)"),
    Need("gateway.networking.k8s.io", "gateways", LIST, "all", "the mesh check (east-west and peer Gateways)"),
    # the SPIRE releases' namespace
    Need("", "secrets", HELM_RECORDS, "spire", "Helm's release records, the SPIRE upstream CA Secret"),
    Need("", "configmaps", HELM + ("list",), "spire", "the SPIRE chart's ConfigMaps, read by the mesh check"),
    Need("", "serviceaccounts", HELM, "spire", "the SPIRE chart's ServiceAccounts"),
    Need("", "services", HELM, "spire", "the SPIRE chart's Services"),
    Need("apps", "statefulsets", HELM, "spire", "spire-server"),
    Need("apps", "daemonsets", HELM, "spire", "spire-agent and the SPIFFE CSI driver"),
    Need("apps", "deployments", HELM, "spire", "the SPIFFE OIDC discovery provider"),
    Need("apps", "replicasets", LIST, "spire", "helm --wait on the SPIRE Deployments"),
    Need("", "persistentvolumeclaims", ("get", "list"), "spire", "the preflight (spire-server's claim) and the mesh check (the claims of SPIRE)"),
    Need("rbac.authorization.k8s.io", "roles", HELM, "spire", "the SPIRE chart's Roles"),
    Need("rbac.authorization.k8s.io", "rolebindings", HELM, "spire", "the SPIRE chart's RoleBindings"),
    Need("batch", "jobs", HELM_HOOKS, "spire", "the SPIRE chart's Helm hook Jobs"),
    # the Gloo Operator's namespace
    Need("", "secrets", HELM_RECORDS, "gloo", "Helm's release records, the license Secret"),
    Need("", "configmaps", APPLY, "gloo", "the ConfigMap gloo-extensions-config"),
    Need("", "serviceaccounts", HELM, "gloo", "the Gloo Operator chart's ServiceAccount"),
    Need("apps", "deployments", HELM, "gloo", "the Gloo Operator"),
    Need("apps", "replicasets", LIST, "gloo", "helm --wait on the Gloo Operator"),
    # istio-system
    Need("", "secrets", APPLY, "istio", "the istiod plug-in CA Secret cacerts"),
    Need("", "pods", LIST, "istio", "the wait for istiod, istio-cni and ztunnel"),
    Need("", "pods/proxy", ("get",), "istio", "the mesh check's license query (istiod /debug/license through the API proxy)"),
    Need("", "configmaps", LIST, "istio", "the mesh check (mesh config, istio-ca-root-cert)"),
    Need("networking.istio.io", "workloadentries", LIST, "istio", "the mesh check (stale WorkloadEntries)"),
    # the east-west gateway's namespace
    Need("gateway.networking.k8s.io", "gateways", APPLY + ("delete",), "eastwest",
         "the east-west Gateway and the peer Gateways (deleted for clusters gone with eastwest_prune_peers)"),
    Need("", "services", LIST, "eastwest", "linking (the east-west Service's address)"),
)

# Verbs that make GRANTS unnecessary: (group, resource, verb, scope)
ESCALATION = (
    ("rbac.authorization.k8s.io", "clusterroles", "escalate", "cluster"),
    ("rbac.authorization.k8s.io", "clusterroles", "bind", "cluster"),
    ("rbac.authorization.k8s.io", "roles", "escalate", "spire"),
    ("rbac.authorization.k8s.io", "roles", "bind", "spire"),
)

# (group, resource, verbs, scope, resource name or "") granted by the SPIRE chart's roles; see the module docstring.
GRANTS = (
    ("", "pods", ("get", "list", "watch"), "cluster", ""),
    ("", "nodes", ("get", "list", "watch"), "cluster", ""),
    ("", "nodes/proxy", ("get",), "cluster", ""),
    ("", "namespaces", ("get", "list", "watch"), "cluster", ""),
    ("", "endpoints", ("get", "list", "watch"), "cluster", ""),
    ("authentication.k8s.io", "tokenreviews", ("get", "list", "watch", "create"), "cluster", ""),
    ("admissionregistration.k8s.io", "validatingwebhookconfigurations", ("get", "list", "watch", "patch"), "cluster", ""),
    ("spire.spiffe.io", "clusterfederatedtrustdomains", ("get", "list", "watch", "create", "update", "patch", "delete"), "cluster", ""),
    ("spire.spiffe.io", "clusterfederatedtrustdomains/finalizers", ("update",), "cluster", ""),
    ("spire.spiffe.io", "clusterfederatedtrustdomains/status", ("get", "patch", "update"), "cluster", ""),
    ("spire.spiffe.io", "clusterspiffeids", ("get", "list", "watch", "create", "update", "patch", "delete"), "cluster", ""),
    ("spire.spiffe.io", "clusterspiffeids/finalizers", ("update",), "cluster", ""),
    ("spire.spiffe.io", "clusterspiffeids/status", ("get", "patch", "update"), "cluster", ""),
    ("spire.spiffe.io", "clusterstaticentries", ("get", "list", "watch", "create", "update", "patch", "delete"), "cluster", ""),
    ("spire.spiffe.io", "clusterstaticentries/finalizers", ("update",), "cluster", ""),
    ("spire.spiffe.io", "clusterstaticentries/status", ("get", "patch", "update"), "cluster", ""),
    ("", "configmaps", ("get", "list", "watch", "create", "update", "patch", "delete"), "spire", ""),
    ("coordination.k8s.io", "leases", ("get", "list", "watch", "create", "update", "patch", "delete"), "spire", ""),
    ("", "events", ("create", "patch"), "spire", ""),
    ("apps", "deployments", ("get", "delete"), "spire", "spire-spiffe-oidc-discovery-provider"),
)


def namespace_of(scope, namespaces):
    """The namespace of a SelfSubjectAccessReview for a scope ('' for cluster-scoped and cluster-wide requests)."""
    if scope in ("cluster", "all"):
        return ""
    return namespaces[scope]


def _review(group, resource, verb, namespace, name=""):
    resource, dummy, subresource = resource.partition("/")
    attributes = {"verb": verb, "group": group, "resource": resource}
    if subresource:
        attributes["subresource"] = subresource
    if namespace:
        attributes["namespace"] = namespace
    if name:
        attributes["name"] = name
    return attributes


def need_reviews(namespaces):
    """The resourceAttributes of every SelfSubjectAccessReview for NEEDS, deduplicated, in a stable order.

    namespaces: {spire, gloo, istio, eastwest} -> namespace name.
    """
    seen = set()
    reviews = []
    for need in NEEDS:
        namespace = namespace_of(need.scope, namespaces)
        for verb in need.verbs:
            attributes = _review(need.group, need.resource, verb, namespace)
            key = tuple(sorted(attributes.items()))
            if key not in seen:
                seen.add(key)
                reviews.append(attributes)
    return reviews


def escalation_reviews(namespaces):
    return [_review(group, resource, verb, namespace_of(scope, namespaces)) for group, resource, verb, scope in ESCALATION]


def grant_reviews(namespaces):
    """The resourceAttributes of the SelfSubjectAccessReviews for GRANTS (when escalate/bind are not allowed)."""
    reviews = []
    for group, resource, verbs, scope, name in GRANTS:
        for verb in verbs:
            reviews.append(_review(group, resource, verb, namespace_of(scope, namespaces), name))
    return reviews


def why(attributes, namespaces):
    """Why the install needs this request (the first need that asks for it), or None."""
    scope_of = dict((value, key) for key, value in namespaces.items())
    resource = attributes["resource"] + ("/" + attributes["subresource"] if attributes.get("subresource") else "")
    for need in NEEDS:
        if need.group != attributes.get("group", "") or need.resource != resource or attributes["verb"] not in need.verbs:
            continue
        namespace = attributes.get("namespace", "")
        if (need.scope in ("cluster", "all") and not namespace) or (namespace and scope_of.get(namespace) == need.scope):
            return need.why
    return None


def describe(attributes):
    """'create clusterroles.rbac.authorization.k8s.io (cluster scope)', 'list secrets in spire-server', ..."""
    resource = attributes["resource"] + ("/" + attributes["subresource"] if attributes.get("subresource") else "")
    qualified = "%s.%s" % (resource, attributes["group"]) if attributes.get("group") else resource
    if attributes.get("name"):
        qualified += " %s" % attributes["name"]
    where = "in %s" % attributes["namespace"] if attributes.get("namespace") else "cluster-wide"
    return "%s %s %s" % (attributes["verb"], qualified, where)


def rbac_rules(namespaces, include_grants=True):
    """The RBAC rules that give an identity what the install needs: {"cluster_role": [rules], "roles": {namespace: [rules]}}.

    Cluster-scoped and cluster-wide needs go to one ClusterRole, the others to a Role per namespace (bound with RoleBindings).
    With include_grants, what the SPIRE chart's roles grant is added (instead, one may allow escalate and bind).
    """
    cluster = {}
    roles = {}

    def add(target, group, resource, verbs, name=""):
        key = (group, resource, name)
        current = target.setdefault(key, [])
        for verb in verbs:
            if verb not in current:
                current.append(verb)

    for need in NEEDS:
        target = cluster if need.scope in ("cluster", "all") else roles.setdefault(namespaces[need.scope], {})
        add(target, need.group, need.resource, need.verbs)
    if include_grants:
        for group, resource, verbs, scope, name in GRANTS:
            target = cluster if scope in ("cluster", "all") else roles.setdefault(namespaces[scope], {})
            add(target, group, resource, verbs, name)

    def rules(target):
        result = []
        for (group, resource, name), verbs in sorted(target.items()):
            rule = {"apiGroups": [group], "resources": [resource], "verbs": sorted(verbs)}
            if name:
                rule["resourceNames"] = [name]
            result.append(rule)
        return result

    return {"cluster_role": rules(cluster), "roles": dict((ns, rules(target)) for ns, target in sorted(roles.items()))}
