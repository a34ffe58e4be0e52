#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: mesh_versions_info
short_description: Read what versions the clusters of an ambient mesh run, and whether expected versions are in use
version_added: 0.1.0
description:
  - Reads every cluster of O(clusters) in parallel (about 10 API requests per cluster), read-only.
  - Per cluster, the ServiceMeshController (its C(spec.version) and the upgrade record an upgrade keeps in its annotation
    C(upgrade.meshops.io/record)); the istiod, ztunnel and istio-cni workloads, the versions their pods run (the
    C(app.kubernetes.io/version) label, else the image tag), how many are Ready, and whether each rollout is complete; the Helm
    releases of O(releases) (chart, chart version, app version, latest and last deployed revision, status, from Helm's release
    Secrets); how many roots the C(cacerts) Secret, the C(istio-ca-root-cert) ConfigMap and SPIRE's C(spire-bundle) hold, and
    whether istiod sets C(ISTIO_MULTIROOT_MESH); the number of C(istio-remote) peer Gateways.
  - With O(clusters[].expect), says per cluster whether those versions are in use (every istiod, ztunnel and istio-cni pod at the
    Istio version and Ready, each rollout complete; each release deployed at its chart version) and what keeps them from it.
    This is the "the new version is in use" part of an upgrade gate.
  - Nothing secret leaves a read; of the C(cacerts) Secret only the certificates of C(root-cert.pem) are counted, of a Helm
    release only its chart metadata is decoded (never its values).
author:
  - meshops platform engineering (@meshops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads only; the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  clusters:
    description:
      - The clusters to read, each with its own connection (the auth options of C(kubernetes.core), see M(kubernetes.core.k8s_info));
        unset ones come from the C(K8S_AUTH_*) environment variables. Module-level C(module_defaults) are not used.
      - With more than one cluster, each needs its own O(clusters[].context) or O(clusters[].host).
      - A cluster that cannot be read (after O(attempts)) is reported in RV(clusters) with C(failed) and C(msg); the task does not fail.
      - The secret values of a kubeconfig given as a dict (C(token), C(client-key-data), ...) are masked in every output.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Key of this cluster in RV(clusters) (for example the inventory host name).
        type: str
        required: true
      cluster_name:
        description: Name of the cluster in the mesh, reported back.
        type: str
      expect:
        description:
          - Versions that should be in use on this cluster, C(istio) (an Istio version) and C(releases) (C(<namespace>/<release>) to a
            chart version). Either may be left out.
        type: dict
      kubeconfig:
        description:
          - Path to a kubeconfig (several separated by C(:)), or its content as a dict, for this cluster. Defaults to
            E(K8S_AUTH_KUBECONFIG), else C(~/.kube/config) (or the in-cluster configuration when neither O(clusters[].kubeconfig)
            nor O(clusters[].context) is set).
        type: raw
      context:
        description: The kubeconfig context of this cluster; defaults to E(K8S_AUTH_CONTEXT), else the current context.
        type: str
      host:
        description: API server URL of this cluster; defaults to E(K8S_AUTH_HOST).
        type: str
      api_key:
        description: Bearer token for this cluster; defaults to E(K8S_AUTH_API_KEY).
        type: str
      username:
        description: Basic auth user name for this cluster; defaults to E(K8S_AUTH_USERNAME).
        type: str
      password:
        description: Basic auth password for this cluster; defaults to E(K8S_AUTH_PASSWORD).
        type: str
      validate_certs:
        description: Whether to verify the API server's certificate; defaults to E(K8S_AUTH_VERIFY_SSL).
        type: bool
        aliases: [verify_ssl]
      ca_cert:
        description: CA certificate file of the API server; defaults to E(K8S_AUTH_SSL_CA_CERT).
        type: path
        aliases: [ssl_ca_cert]
      client_cert:
        description: Client certificate file; defaults to E(K8S_AUTH_CERT_FILE).
        type: path
        aliases: [cert_file]
      client_key:
        description: Client key file; defaults to E(K8S_AUTH_KEY_FILE).
        type: path
        aliases: [key_file]
      proxy:
        description: HTTP proxy URL; defaults to E(K8S_AUTH_PROXY).
        type: str
      no_proxy:
        description: Comma-separated hosts, domains, IP addresses and CIDRs not to reach through O(clusters[].proxy); defaults to E(K8S_AUTH_NO_PROXY).
        type: str
      proxy_headers:
        description: Headers for the HTTP proxy (see U(https://urllib3.readthedocs.io/en/latest/reference/urllib3.util.html)).
        type: dict
        suboptions:
          proxy_basic_auth:
            description: Colon-separated user name and password for the proxy; defaults to E(K8S_AUTH_PROXY_HEADERS_PROXY_BASIC_AUTH).
            type: str
          basic_auth:
            description: Colon-separated user name and password for basic authentication; defaults to E(K8S_AUTH_PROXY_HEADERS_BASIC_AUTH).
            type: str
          user_agent:
            description: The user agent; defaults to E(K8S_AUTH_PROXY_HEADERS_USER_AGENT).
            type: str
      persist_config:
        description: Whether to save refreshed tokens to the kubeconfig file; defaults to E(K8S_AUTH_PERSIST_CONFIG), else false.
        type: bool
      impersonate_user:
        description: User name to impersonate; defaults to E(K8S_AUTH_IMPERSONATE_USER).
        type: str
      impersonate_groups:
        description: Groups to impersonate; defaults to E(K8S_AUTH_IMPERSONATE_GROUPS) (comma-separated).
        type: list
        elements: str
  attempts:
    description: Attempts per cluster when a read fails (transient API errors).
    type: int
    default: 1
  attempt_delay:
    description: Seconds between those attempts.
    type: int
    default: 3
  istio_namespace:
    description: Namespace of istiod, ztunnel, istio-cni and the C(cacerts) Secret.
    type: str
    default: istio-system
  spire_namespace:
    description: Namespace of the SPIRE server and its C(spire-bundle) ConfigMap.
    type: str
    default: spire-server
  smc_name:
    description: Name of the ServiceMeshController.
    type: str
    default: managed-istio
  releases:
    description: The Helm releases to read, each with C(namespace) and C(name) (other keys are ignored).
    type: list
    elements: dict
    default: []
  request_timeout:
    description: Timeout of each API request, in seconds.
    type: int
    default: 30
seealso:
  - module: meshops.ambient_spire.mesh_check
'''

EXAMPLES = r'''
- name: What the clusters run, and whether Istio 1.26.2 and spire 0.24.3 are in use on cluster1
  meshops.ambient_spire.mesh_versions_info:
    clusters:
      - name: cluster1
        context: cluster1
        expect: {istio: 1.26.2, releases: {spire-server/spire: 0.24.3}}
      - name: cluster2
        context: cluster2
    releases:
      - {namespace: spire-server, name: spire-crds}
      - {namespace: spire-server, name: spire}
      - {namespace: gloo-mesh, name: gloo-operator}
  register: versions
  run_once: true
  delegate_to: localhost
'''

RETURN = r'''
clusters:
  description: One entry per cluster, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: O(clusters[].name).
      type: str
    failed:
      description: True when the cluster could not be read (then only C(msg) follows).
      type: bool
    msg:
      description: Why the cluster could not be read.
      type: str
    smc:
      description: C(name), C(present), C(version) (C(spec.version)), C(record) (the upgrade record, or null), C(phase).
      type: dict
    istio:
      description:
        - Per component (C(istiod), C(ztunnel), C(istio-cni)) C(present), C(versions) (the versions its pods run),
          C(template_versions), C(desired), C(rollout_complete), C(pods) (per version C(pods), C(ready), C(not_ready) with the reason).
      type: dict
    helm:
      description:
        - Per C(<namespace>/<release>) C(present), C(chart), C(version), C(app_version), C(revision), C(status) of the latest revision,
          C(deployed_revision) and C(deployed_version) of the last deployed one.
      type: dict
    roots:
      description: Certificates in C(cacerts) C(root-cert.pem), in C(istio-ca-root-cert), in SPIRE's C(spire-bundle) (null when absent).
      type: dict
    several_roots:
      description: Whether the cluster trusts several roots (a root store holds more than one, or istiod sets C(ISTIO_MULTIROOT_MESH)).
      type: bool
    peers:
      description: Number of C(istio-remote) peer Gateways.
      type: int
    in_use:
      description: With O(clusters[].expect), C(ok) and C(problems) (what keeps the expected versions from being in use).
      type: dict
  sample:
    - name: cluster1
      smc: {name: managed-istio, present: true, version: 1.26.2, record: null}
      istio: {istiod: {present: true, versions: [1.26.2], rollout_complete: true, desired: 1, pods: {1.26.2: {pods: 1, ready: 1, not_ready: []}}}}
      helm: {spire-server/spire: {present: true, chart: spire, version: 0.24.3, app_version: 1.11.2, revision: 2, status: deployed}}
      in_use: {ok: true, problems: []}
in_use_ok:
  description: Whether every cluster with O(clusters[].expect) was read and has those versions in use.
  returned: always
  type: bool
'''

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_client import (
    HAS_K8S_CORE,
    HAS_KUBERNETES,
    K8S_CORE_IMPORT_ERROR,
    KUBERNETES_IMPORT_ERROR,
    K8sAuthModule,
    K8sClientError,
    auth_argument_spec,
    create_api_client,
)
from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_snapshot import for_each_cluster
from ansible_collections.meshops.ambient_spire.plugins.module_utils._mesh_read import clusters_problem
from ansible_collections.meshops.ambient_spire.plugins.module_utils._mesh_versions import in_use_problems, read_versions, several_roots


def argument_spec():
    cluster = auth_argument_spec()
    cluster.update(name={"type": "str", "required": True}, cluster_name={"type": "str"}, expect={"type": "dict"})
    return {
        "clusters": {"type": "list", "elements": "dict", "required": True, "options": cluster},
        "attempts": {"type": "int", "default": 1},
        "attempt_delay": {"type": "int", "default": 3},
        "istio_namespace": {"type": "str", "default": "istio-system"},
        "spire_namespace": {"type": "str", "default": "spire-server"},
        "smc_name": {"type": "str", "default": "managed-istio"},
        "releases": {"type": "list", "elements": "dict", "default": []},
        "request_timeout": {"type": "int", "default": 30},
    }


def read_cluster(params, cluster):
    label = cluster.get("cluster_name") or cluster.get("context") or cluster["name"]
    try:
        api_client = create_api_client(cluster)
    except K8sClientError as exc:
        raise K8sClientError("cluster %s: %s" % (label, exc))
    return read_versions(api_client, cluster_name=cluster.get("cluster_name") or cluster["name"], context=cluster.get("context"),
                         istio_namespace=params["istio_namespace"], spire_namespace=params["spire_namespace"], smc_name=params["smc_name"],
                         releases=params["releases"], timeout=params["request_timeout"])


def evaluate(params, outcome):
    """The module result from {name: {"result": read} | {"error": text}}."""
    entries = []
    in_use_ok = True
    for cluster in params["clusters"]:
        done = outcome[cluster["name"]]
        entry = {"name": cluster["name"], "attempts": done["attempts"]}
        if "error" in done:
            entry.update(failed=True, msg=done["error"])
            if cluster.get("expect"):
                in_use_ok = False
        else:
            entry.update(done["result"])
            entry["several_roots"] = several_roots(entry)
            if cluster.get("expect"):
                problems = in_use_problems(entry, cluster["expect"])
                entry["in_use"] = {"ok": not problems, "problems": problems}
                in_use_ok = in_use_ok and not problems
        entries.append(entry)
    return {"changed": False, "clusters": entries, "in_use_ok": in_use_ok}


def main():
    module = K8sAuthModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    if not params["clusters"]:
        module.fail_json(msg="clusters: no cluster given")
    bad = [release for release in params["releases"] if not (release.get("namespace") and release.get("name"))]
    if bad:
        module.fail_json(msg="releases: every release needs a namespace and a name (%d do not)" % len(bad))
    params["releases"] = [{"namespace": r["namespace"], "name": r["name"]} for r in params["releases"]]
    problem = clusters_problem(params["clusters"])
    if problem:
        module.fail_json(msg=problem)
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    if not HAS_K8S_CORE:
        module.fail_json(msg="the kubernetes.core collection is required", exception=K8S_CORE_IMPORT_ERROR)
    by_name = dict((cluster["name"], cluster) for cluster in params["clusters"])
    outcome = for_each_cluster(by_name, lambda name: read_cluster(params, by_name[name]), attempts=params["attempts"], delay=params["attempt_delay"])
    module.exit_json(**evaluate(params, outcome))


if __name__ == "__main__":
    main()
