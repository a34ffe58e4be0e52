# -*- coding: utf-8 -*-
"""The preflight's access lists (_preflight/access.py) stay in sync with what the install does, in both directions:

- every object the roles apply (their templates and task definitions, rendered with the role defaults) and every kind the
  roles read, every object the charts render (helm template of the SPIRE charts with the spire role's values, of the Gloo
  Operator stand-in), Helm's release records and waits, and every request of the mesh check's reader (recorded from a fake
  client) is covered by NEEDS with the verbs that use needs;
- every verb of NEEDS comes from one of those;
- GRANTS is exactly what the SPIRE chart's ClusterRoles and Roles grant.

The chart parts need helm (.tools/bin) and, for the SPIRE chart, the real chart (tests/integration/upstream_charts.py): the
stand-in renders no RBAC objects, webhook, OIDC provider or hooks; without it those parts skip and say so.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import upstream_charts  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.meshops.ambient_spire.plugins.module_utils._preflight import access  # noqa: E402

NAMESPACES = {"spire": "spire-server", "gloo": "gloo-mesh", "istio": "istio-system", "eastwest": "istio-eastwest"}
SCOPE_OF = dict((name, scope) for scope, name in NAMESPACES.items())
INSTALL_ROLES = ("spire", "spiffe_ids", "gloo_operator", "eastwest")
# kind -> (group, plural, namespaced) of every kind the install touches; a new kind makes the test say so.
KINDS = {
    "Namespace": ("", "namespaces", False), "Secret": ("", "secrets", True), "ConfigMap": ("", "configmaps", True),
    "ServiceAccount": ("", "serviceaccounts", True), "Service": ("", "services", True), "Pod": ("", "pods", True),
    "Deployment": ("apps", "deployments", True), "StatefulSet": ("apps", "statefulsets", True), "DaemonSet": ("apps", "daemonsets", True),
    "Job": ("batch", "jobs", True), "Role": ("rbac.authorization.k8s.io", "roles", True),
    "RoleBinding": ("rbac.authorization.k8s.io", "rolebindings", True),
    "ClusterRole": ("rbac.authorization.k8s.io", "clusterroles", False),
    "ClusterRoleBinding": ("rbac.authorization.k8s.io", "clusterrolebindings", False),
    "CustomResourceDefinition": ("apiextensions.k8s.io", "customresourcedefinitions", False),
    "ValidatingWebhookConfiguration": ("admissionregistration.k8s.io", "validatingwebhookconfigurations", False),
    "CSIDriver": ("storage.k8s.io", "csidrivers", False),
    "ClusterSPIFFEID": ("spire.spiffe.io", "clusterspiffeids", False),
    "ServiceMeshController": ("operator.gloo.solo.io", "servicemeshcontrollers", False),
    "Gateway": ("gateway.networking.k8s.io", "gateways", True),
}


def _needed():
    """{(group, resource, scope): set(verbs)} of NEEDS."""
    result = {}
    for need in access.NEEDS:
        result.setdefault((need.group, need.resource, need.scope), set()).update(need.verbs)
    return result


class Uses(object):
    """What the install does: {(group, resource, scope): {verb: [why]}}."""

    def __init__(self):
        self.uses = {}

    def add(self, kind_or_key, namespace, verbs, why):
        if isinstance(kind_or_key, tuple):
            group, resource, namespaced = kind_or_key
        else:
            assert kind_or_key in KINDS, "kind %s is new to the install: add it to KINDS here and to access.NEEDS" % kind_or_key
            group, resource, namespaced = KINDS[kind_or_key]
        if not namespaced:
            scope = "cluster"
        elif namespace in (None, "", "*"):
            scope = "all"
        else:
            assert namespace in SCOPE_OF, "%s %s in namespace %s, not one of the install's" % (why, resource, namespace)
            scope = SCOPE_OF[namespace]
        for verb in verbs:
            self.uses.setdefault((group, resource, scope), {}).setdefault(verb, []).append(why)

    def missing(self):
        """Uses that NEEDS does not cover: ['verb group/resource scope (why)']."""
        needed = _needed()
        out = []
        for key, verbs in sorted(self.uses.items()):
            cluster_wide = needed.get((key[0], key[1], "all"), set()) if key[2] not in ("cluster", "all") else set()
            for verb, whys in sorted(verbs.items()):
                if verb not in needed.get(key, ()) and verb not in cluster_wide:
                    out.append("%s %s/%s %s (%s)" % (verb, key[0], key[1], key[2], whys[0]))
        return out


# --- the roles ---------------------------------------------------------------------------------------------------------

def _role_variables(renderer, tmp_path):
    variables = {}
    for role in INSTALL_ROLES + ("mesh_check",):
        for part in ("defaults", "vars"):
            path = "roles/%s/%s/main.yml" % (role, part)
            if os.path.exists(os.path.join(ROOT, path)):
                variables.update(renderer.load(path))
    pki = tmp_path / "pki"
    pki.mkdir(exist_ok=True)
    (pki / "root-ca-bundle.pem").write_text("a bundle")
    variables.update(inventory_hostname="cluster1", pki_dir=str(pki), mesh_istio_version="1.27.3-patch0", mesh_license_key="k",
                     ansible_check_mode=True, eastwest_all_peers=[])
    return variables


def _task_files():
    for role in INSTALL_ROLES:
        tasks = os.path.join(ROOT, "roles", role, "tasks")
        for name in sorted(os.listdir(tasks)):
            if name.endswith(".yml") and "teardown" not in name:
                yield role, os.path.join(tasks, name)


def _module_calls(node):
    """(module name, arguments) of every kubernetes.core call, and of this collection's modules that call the API (k8s_apply,
    eastwest_peers_info), in a task file's structure."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str) and key.startswith(("kubernetes.core.", "meshops.ambient_spire.k8s_apply",
                                                        "meshops.ambient_spire.eastwest_peers_info")) and isinstance(value, dict):
                yield key, value
            else:
                yield from _module_calls(value)
    elif isinstance(node, list):
        for item in node:
            yield from _module_calls(item)


def _render(renderer, value, variables):
    from ansible.template import trust_as_template
    return renderer.render(trust_as_template(value), variables) if isinstance(value, str) else value


def _role_uses(renderer, tmp_path):
    from ansible.template import trust_as_template
    variables = _role_variables(renderer, tmp_path)
    uses = Uses()
    # the manifests of the roles' templates (the SPIRE values are Helm's input, not manifests)
    for role in INSTALL_ROLES:
        templates = os.path.join(ROOT, "roles", role, "templates")
        for name in sorted(os.listdir(templates)):
            if name == "values.yml.j2":
                continue
            text = renderer.render(renderer.text("roles/%s/templates/%s" % (role, name)), variables)
            for doc in yaml.safe_load_all(text):
                if doc:
                    uses.add(doc["kind"], (doc.get("metadata") or {}).get("namespace"), access.APPLY, "%s/templates/%s" % (role, name))
    # the peer Gateways of link (a filter builds them)
    peers = renderer.render(trust_as_template(
        "{{ [{'cluster': 'c2', 'network': 'c2', 'trust_domain': 'c2', 'service_account': 'istio-eastwest', "
        "'address': {'type': 'IPAddress', 'value': '192.0.2.1'}}] | meshops.ambient_spire.peer_gateways(local_cluster='c1', "
        "namespace=eastwest_namespace) }}"), variables)
    for doc in peers:
        uses.add(doc["kind"], doc["metadata"]["namespace"], access.APPLY, "eastwest/tasks/link.yml peer Gateways")
    # what the tasks apply, delete and read themselves
    for role, path in _task_files():
        with open(path) as handle:
            tasks = yaml.safe_load(handle)
        for module, args in _module_calls(tasks):
            where = "%s/tasks/%s %s" % (role, os.path.basename(path), module)
            definition = args.get("definition")
            if module.endswith(".k8s") and isinstance(definition, dict):
                uses.add(definition["kind"], _render(renderer, (definition.get("metadata") or {}).get("namespace"), variables), access.APPLY, where)
            elif module.endswith(".k8s") and args.get("kind"):
                verbs = ("get", "delete") if args.get("state") == "absent" else access.APPLY
                uses.add(args["kind"], _render(renderer, args.get("namespace"), variables), verbs, where)
            elif module.endswith(".k8s_info"):
                uses.add(args["kind"], _render(renderer, args.get("namespace"), variables), ("get", "list") if args.get("name") else ("list",), where)
            elif module.endswith(".k8s_apply"):
                _k8s_apply_uses(uses, renderer, args, variables, where)
            elif module.endswith(".eastwest_peers_info"):
                # the east-west Service of every cluster (_eastwest_read: a LIST by the expose-istiod label)
                uses.add("Service", variables["eastwest_namespace"], ("list",), where)
    return uses, variables


def _rendered_option(renderer, args, key, variables):
    """An option of a k8s_apply call rendered with the role variables; None when it needs a run's results (registered
    variables, hostvars)."""
    from ansible.template import trust_as_template
    value = args.get(key)
    if not isinstance(value, str):
        return value
    try:
        # every option on (prune too), an inventory of no other host
        variables = dict(variables, hostvars={}, groups={}, eastwest_prune_peers=True)
        return renderer.render(trust_as_template(value.replace(" else omit", " else none")), variables)
    except Exception:  # pylint: disable=broad-except
        return None


def _k8s_apply_uses(uses, renderer, args, variables, where):
    """What a k8s_apply call reads and deletes besides what it applies (its manifests are the roles' templates): the pods its
    wait lists, the kinds it re-reads, the Helm release records it reads, the Secrets it compares, what it prunes."""
    wait = _rendered_option(renderer, args, "wait", variables) or {}
    for component in wait.get("pods") or []:
        uses.add("Pod", _render(renderer, component["namespace"], variables), ("list",), where + " wait")
    for rule in wait.get("objects") or []:
        uses.add(rule["kind"], None, ("list",), where + " wait")
    for release in _rendered_option(renderer, args, "releases", variables) or []:
        uses.add("Secret", _render(renderer, release["namespace"], variables), ("list",), where + " Helm release records")
        if args.get("helm"):
            # records of revisions left pending or failed are forgotten before helm runs
            uses.add("Secret", _render(renderer, release["namespace"], variables), ("delete",), where + " Helm records forgotten")
    for secret in _rendered_option(renderer, args, "secrets", variables) or []:
        uses.add("Secret", _render(renderer, secret["namespace"], variables), ("get",), where + " Secrets compared")
    for rule in _rendered_option(renderer, args, "prune", variables) or []:
        uses.add(rule["kind"], _render(renderer, rule.get("namespace"), variables), ("list", "delete"), where + " prune")


def test_what_the_roles_apply_and_read_is_needed(renderer, tmp_path):
    uses, dummy = _role_uses(renderer, tmp_path)
    # the Gateway API CRDs (a multi-document release file)
    with open(os.path.join(ROOT, "tests", "charts", "gateway-api", "standard-install.yaml")) as handle:
        for doc in yaml.safe_load_all(handle):
            if doc:
                uses.add(doc["kind"], None, access.APPLY, "the Gateway API release file")
    assert uses.missing() == []
    assert ("spire.spiffe.io", "clusterspiffeids", "cluster") in uses.uses and ("", "secrets", "istio") in uses.uses


# --- the charts --------------------------------------------------------------------------------------------------------

def _helm():
    helm = os.path.join(ROOT, ".tools", "bin", "helm")
    return helm if os.path.exists(helm) else shutil.which("helm")


def _template(chart, release, namespace, values=None, tmp_path=None):
    cmd = [_helm(), "template", release, chart, "--namespace", namespace, "--include-crds"]
    if values is not None:
        path = os.path.join(str(tmp_path), "%s-values.json" % release)
        with open(path, "w") as handle:
            json.dump(values, handle)
        cmd += ["-f", path]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


def _spire_docs(renderer, tmp_path):
    if not _helm():
        pytest.skip("helm is not installed (scripts/setup puts it in .tools/bin)")
    if not upstream_charts.available():
        pytest.skip(upstream_charts.SKIP_REASON)
    variables = _role_variables(renderer, tmp_path)
    values = yaml.safe_load(renderer.render(renderer.text("roles/spire/templates/values.yml.j2"), variables))
    return (_template(upstream_charts.SPIRE_CRDS, "spire-crds", NAMESPACES["spire"], tmp_path=tmp_path)
            + _template(upstream_charts.SPIRE, "spire", NAMESPACES["spire"], values, tmp_path))


def _is_test_hook(doc):
    return "test" in ((doc.get("metadata") or {}).get("annotations") or {}).get("helm.sh/hook", "").split(",")


def test_what_the_charts_render_is_needed(renderer, tmp_path):
    uses = Uses()
    docs = _spire_docs(renderer, tmp_path)
    gloo = _template(os.path.join(ROOT, "tests", "charts", "gloo-operator"), "gloo-operator", NAMESPACES["gloo"], tmp_path=tmp_path)
    for release_ns, release_docs in ((NAMESPACES["spire"], docs), (NAMESPACES["gloo"], gloo)):
        for doc in release_docs:
            if _is_test_hook(doc):
                continue   # `helm test` only; the install never runs it
            hook = (doc.get("metadata") or {}).get("annotations", {}).get("helm.sh/hook")
            verbs = access.HELM_HOOKS if doc["kind"] == "Job" and hook else access.HELM
            uses.add(doc["kind"], doc["metadata"].get("namespace") or release_ns, verbs, "%s %s" % (doc["kind"], doc["metadata"]["name"]))
            if doc["kind"] == "Deployment":
                uses.add(("apps", "replicasets", True), release_ns, ("list",), "helm --wait on Deployment %s" % doc["metadata"]["name"])
        uses.add("Secret", release_ns, access.HELM_RECORDS, "Helm's release records")
    assert uses.missing() == []
    kinds = set(doc["kind"] for doc in docs)
    assert {"ValidatingWebhookConfiguration", "Job", "ClusterRole", "CSIDriver", "StatefulSet", "Deployment"} <= kinds


def _rendered_grants(docs):
    """{(group, resource, verb, scope, name)} the chart's roles grant."""
    grants = set()
    for doc in docs:
        if doc["kind"] not in ("ClusterRole", "Role") or _is_test_hook(doc):
            continue
        scope = "cluster" if doc["kind"] == "ClusterRole" else SCOPE_OF[doc["metadata"]["namespace"]]
        for rule in doc.get("rules") or []:
            for group in rule.get("apiGroups") or [""]:
                for resource in rule["resources"]:
                    for verb in rule["verbs"]:
                        for name in rule.get("resourceNames") or [""]:
                            grants.add((group, resource, verb, scope, name))
    return grants


def test_grants_are_what_the_spire_charts_roles_grant(renderer, tmp_path):
    rendered = _rendered_grants(_spire_docs(renderer, tmp_path))
    listed = set((g, r, v, s, n) for g, r, verbs, s, n in access.GRANTS for v in verbs)

    def covered(item, pool):
        group, resource, verb, scope, name = item
        return any((g, r, v, s) == (group, resource, verb, scope) and (n == name or not n) for g, r, v, s, n in pool)
    assert sorted(item for item in rendered if not covered(item, listed)) == []
    assert sorted(item for item in listed if not any((g, r, v, s) == item[:4] for g, r, v, s, dummy in rendered)) == []


# --- the mesh check's and the preflight's reads -----------------------------------------------------------------------------

class _Recorder(object):
    """A kubernetes ApiClient stand-in: every request is recorded; GETs answer an empty list (a CRD: present), reviews allow."""

    def __init__(self):
        self.paths = []

    def param_serialize(self, method, resource_path, query_params=None, header_params=None, body=None, **dummy):
        return method, resource_path, header_params, body, None

    def call_api(self, method, url, header_params=None, body=None, _request_timeout=None, **dummy):
        self.paths.append((method, url))
        if method == "POST":
            text = b'{"status": {"allowed": true, "userInfo": {"username": "u"}}}'
        elif "customresourcedefinitions/" in url:
            text = b'{"metadata": {"name": "x"}, "spec": {"versions": []}}'
        elif url == "/version":
            text = b'{"gitVersion": "v1.33.1"}'
        elif url == "/api/v1/namespaces/spire-server/configmaps":   # a controller manager that names its webhook configuration
            text = json.dumps({"items": [{"metadata": {"name": "spire-controller-manager"}, "data": {
                "controller-manager-config.yaml": "kind: ControllerManagerConfig\nvalidatingWebhookConfigurationName: w\n"}}]}).encode()
        else:
            text = b'{"items": []}'

        class Response(object):
            status = 200
            reason = "OK"

            @staticmethod
            def read():
                return text
        return Response()


def _reads():
    """The resource GETs of the mesh check's and the preflight's readers: [(url, why)]."""
    from ansible_collections.meshops.ambient_spire.plugins.module_utils import _k8s_snapshot
    from ansible_collections.meshops.ambient_spire.plugins.module_utils._preflight import snapshot
    mesh, preflight = _Recorder(), _Recorder()
    _k8s_snapshot.take_snapshot(mesh, cluster_name="cluster1", license_check=False)
    snapshot.take_snapshot(preflight, "cluster1", NAMESPACES)
    posts = [url for method, url in preflight.paths if method == "POST"]
    assert set(posts) == {"/apis/authentication.k8s.io/v1/selfsubjectreviews", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"}
    return ([(url, "the mesh check") for method, url in mesh.paths]
            + [(url, "the preflight") for method, url in preflight.paths if method == "GET" and url != "/version"])


def _add_reads(uses):
    for url, why in _reads():
        match = PATH.match(url)
        assert match, url
        group, plural = match.group("group") or "", match.group("resource")
        resource = plural + ("/" + match.group("sub") if match.group("sub") else "")
        known = [n for g, r, n in KINDS.values() if (g, r) == (group, plural)] + [n for g, r, n in EXTRA_KINDS if (g, r) == (group, plural)]
        assert known, "%s reads %s: add its kind to KINDS or EXTRA_KINDS here" % (why, url)
        uses.add((group, resource, known[0]), match.group("ns"), ("get",) if match.group("name") else ("list",), "%s: %s" % (why, url))
    # the license query goes through the pod proxy of istiod in the Istio namespace
    uses.add(("", "pods/proxy", True), NAMESPACES["istio"], ("get",), "the mesh check's license query")


# kinds only read: (group, plural, namespaced)
EXTRA_KINDS = (("", "nodes", False), ("storage.k8s.io", "storageclasses", False), ("", "persistentvolumeclaims", True),
               ("networking.istio.io", "workloadentries", True))


PATH = re.compile(r"^/(?:api/v1|apis/(?P<group>[^/]+)/[^/]+)(?:/namespaces/(?P<ns>[^/]+))?/(?P<resource>[^/]+)(?:/(?P<name>[^/]+))?(?:/(?P<sub>[^/]+))?")


def test_what_the_mesh_check_and_the_preflight_read_is_needed():
    uses = Uses()
    _add_reads(uses)
    assert uses.missing() == []
    assert ("storage.k8s.io", "storageclasses", "cluster") in uses.uses and ("", "pods", "all") in uses.uses


# --- nothing needed without a use ----------------------------------------------------------------------------------------

def test_every_need_has_a_use(renderer, tmp_path):
    uses, dummy = _role_uses(renderer, tmp_path)
    with open(os.path.join(ROOT, "tests", "charts", "gateway-api", "standard-install.yaml")) as handle:
        for doc in yaml.safe_load_all(handle):
            if doc:
                uses.add(doc["kind"], None, access.APPLY, "the Gateway API release file")
    docs = _spire_docs(renderer, tmp_path)
    gloo = _template(os.path.join(ROOT, "tests", "charts", "gloo-operator"), "gloo-operator", NAMESPACES["gloo"], tmp_path=tmp_path)
    for release_ns, release_docs in ((NAMESPACES["spire"], docs), (NAMESPACES["gloo"], gloo)):
        for doc in release_docs:
            if not _is_test_hook(doc):
                hook = (doc.get("metadata") or {}).get("annotations", {}).get("helm.sh/hook")
                uses.add(doc["kind"], doc["metadata"].get("namespace") or release_ns,
                         access.HELM_HOOKS if doc["kind"] == "Job" and hook else access.HELM, "chart")
                if doc["kind"] == "Deployment":
                    uses.add(("apps", "replicasets", True), release_ns, ("list",), "helm --wait")
        uses.add("Secret", release_ns, access.HELM_RECORDS, "Helm's release records")
    _add_reads(uses)
    unused = []
    for key, verbs in sorted(_needed().items()):
        for verb in sorted(verbs):
            if verb not in uses.uses.get(key, {}):
                unused.append("%s %s/%s %s" % (verb, key[0], key[1], key[2]))
    assert unused == [], unused
