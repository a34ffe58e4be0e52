#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: mesh_snapshot
short_description: Take a compact, read-only snapshot of the clusters of an ambient + SPIRE mesh
version_added: 0.1.0
description:
  - Reads, with a bounded number of API requests (13, or up to 15 when the license request through the pod proxy is asked again
    after a 5xx; independent of object counts), everything the
    M(meshops.ambient_spire.mesh_check) checks need from one cluster
  - Namespaces and their labels; istiod Deployments and ztunnel DaemonSets with their environment; the istiod, ztunnel and
    east-west gateway pods; Gateways (C(gateway.networking.k8s.io/v1)); the east-west Service (label C(istio.io/expose-istiod));
    the WorkloadEntries of the Istio namespace; the C(cacerts) certificates; C(istio-ca-root-cert); the mesh trust domain
    (ConfigMap C(istio-gloo), else C(istio)); the SPIRE server, agent and controller-manager configuration; the SPIRE upstream CA
    secret's certificates; ClusterSPIFFEIDs with their status; the license state through the API pod proxy
    (C(/debug/license) on port 15014 of an istiod pod).
  - Never returns secret material. Private keys (C(ca-key.pem), C(tls.key)) are only compared with their certificates
    (C(key_matches) in RV(snapshot.cacerts)); the license is reported as state and product, never the key.
  - Missing CRDs and resources are recorded in RV(snapshot.missing), they do not fail the task. Other API errors
    (authentication, network, server errors) fail the task with a message that names the cluster.
  - With O(clusters), one module run reads every cluster of the mesh, in parallel threads. A cluster that cannot be read (after
    O(attempts)) is reported in RV(clusters) and does not fail the task, so that the caller can fail that cluster only.
    O(clusters) is mutually exclusive with O(cluster_name), O(expected_network), O(expected_trust_domain) and O(snapshot_file); a
    cluster without O(clusters[].snapshot_file) has its snapshot returned in RV(clusters[].snapshot).
    M(meshops.ambient_spire.mesh_check) takes the same O(clusters) to read and evaluate the mesh in one run.
author:
  - meshops platform engineering (@meshops)
extends_documentation_fragment:
  - meshops.ambient_spire._k8s_auth
  - meshops.ambient_spire._mesh_read
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - The module never writes to the cluster.
      - With O(snapshot_file), the snapshot file is written in check mode too. It is the local, secret-free result of the reads
        (the input of M(meshops.ambient_spire.mesh_check)), not a change to the managed cluster.
  diff_mode:
    support: none
  platform:
    platforms: posix
  action_group:
    description: Use C(group/meshops.ambient_spire.k8s) in C(module_defaults) to set the auth options.
    support: full
    membership:
      - meshops.ambient_spire.k8s
options:
  cluster_name:
    description:
      - Name of the cluster in the mesh (istiod C(CLUSTER_ID), C(istio-remote-peer-<name>)); the key of this snapshot.
      - Defaults to the istiod C(CLUSTER_ID), else the context name.
    type: str
  expected_network:
    description: The network declared for this cluster (C(mesh_network)); checked against the cluster's labels.
    type: str
  expected_trust_domain:
    description: The trust domain declared for this cluster (C(mesh_trust_domain)); checked against SPIRE and the mesh config.
    type: str
  snapshot_file:
    description:
      - Write the snapshot as JSON to this file (mode 0600, replaced atomically) on the host that runs the module, and return
        only its path and RV(summary) instead of RV(snapshot).
      - Large snapshots (thousands of pods and WorkloadEntries) are much faster to hand to M(meshops.ambient_spire.mesh_check)
        through O(meshops.ambient_spire.mesh_check#module:snapshot_files) than through task results and templating.
      - The directory must exist. With the collection's inventory model (C(ansible_connection=local)) the module runs on the
        controller, where M(meshops.ambient_spire.mesh_check) reads the file.
    type: path
seealso:
  - module: meshops.ambient_spire.mesh_check
'''

EXAMPLES = r'''
- name: Snapshot this cluster
  meshops.ambient_spire.mesh_snapshot:
    kubeconfig: "{{ kubeconfig_path }}"
    context: "{{ kube_context }}"
    cluster_name: "{{ mesh_cluster_name | default(inventory_hostname) }}"
    expected_network: "{{ mesh_network | default(omit) }}"
  register: mesh_check_snapshot

- name: Snapshot with module_defaults from the play
  meshops.ambient_spire.mesh_snapshot:
    cluster_name: cluster1
    license_check: false

- name: Snapshot into a private directory on the controller, for mesh_check snapshot_files
  meshops.ambient_spire.mesh_snapshot:
    cluster_name: "{{ inventory_hostname }}"
    snapshot_file: "{{ mesh_check_tmp.path }}/{{ inventory_hostname }}.json"
  register: mesh_check_snapshot

- name: Snapshot two clusters in one run (in parallel), one file each
  meshops.ambient_spire.mesh_snapshot:
    clusters:
      - name: cluster1
        kubeconfig: ~/.kube/config
        context: cluster1
        snapshot_file: "{{ snapshot_dir }}/cluster1.json"
      - name: cluster2
        kubeconfig: ~/.kube/config
        context: cluster2
        expected_network: east
        snapshot_file: "{{ snapshot_dir }}/cluster2.json"
    attempts: 3
  register: mesh_check_snapshots
'''

RETURN = r'''
clusters:
  description:
    - With O(clusters), one entry per cluster, in the order given. A cluster that was read has RV(clusters[].snapshot_file) and
      RV(clusters[].summary), and RV(clusters[].snapshot) when it has no O(clusters[].snapshot_file); one that could not be
      read has RV(clusters[].failed) and RV(clusters[].msg).
  returned: success, when O(clusters) is set
  type: list
  elements: dict
  contains:
    name:
      description: O(clusters[].name).
      type: str
    snapshot_file:
      description: The file the snapshot was written to, when O(clusters[].snapshot_file) is set.
      type: str
    snapshot:
      description: As RV(snapshot), when O(clusters[].snapshot_file) is not set.
      type: dict
    summary:
      description: As RV(summary).
      type: dict
    failed:
      description: True when the cluster could not be read.
      type: bool
    msg:
      description: Why the cluster could not be read (it names the cluster).
      type: str
    attempts:
      description: Attempts made on this cluster.
      type: int
  sample:
    - {name: cluster1, snapshot_file: /tmp/mesh-check.x1y2/cluster1.json, attempts: 1,
       summary: {cluster: cluster1, requests: 13, missing: [], seconds: 0.21}}
    - {name: cluster2, failed: true, attempts: 3,
       msg: "cluster cluster2: GET /api/v1/namespaces failed: 503 Service Unavailable"}
snapshot_file:
  description: The file the snapshot was written to (O(snapshot_file)); it holds what RV(snapshot) would hold.
  returned: success, when O(snapshot_file) is set
  type: str
  sample: /tmp/ansible.x1y2z3.mesh-check/cluster1.json
summary:
  description: A small summary of the snapshot written to O(snapshot_file).
  returned: success, when O(snapshot_file) is set
  type: dict
  contains:
    cluster:
      description: The cluster name.
      type: str
    requests:
      description: Number of API requests made.
      type: int
    missing:
      description: Resources or CRDs that were not found.
      type: list
      elements: str
    seconds:
      description: Time taken by the reads.
      type: float
snapshot:
  description:
    - The compact snapshot of the cluster, the input of M(meshops.ambient_spire.mesh_check).
    - Certificates are PEM texts; keys and license keys are never included.
  returned: success, when O(snapshot_file) is not set
  type: dict
  contains:
    cluster:
      description: The cluster name.
      type: str
      sample: cluster1
    namespaces:
      description: Labels per namespace.
      type: dict
    istiod_deployments:
      description: istiod Deployments (label C(app=istiod)) with the C(discovery) container's environment.
      type: list
      elements: dict
    ztunnel_daemonsets:
      description: ztunnel DaemonSets (label C(app=ztunnel)) with their environment.
      type: list
      elements: dict
    pods:
      description: Compact istiod, ztunnel and east-west gateway pods (name, namespace, phase, ready, restarts).
      type: dict
    gateways:
      description: Gateways with class, labels, addresses and conditions.
      type: list
      elements: dict
    cacerts:
      description: C(cacerts) certificates and whether C(ca-key.pem) matches C(ca-cert.pem) (C(key_matches)), never the key.
      type: dict
    spire:
      description: SPIRE server/agent/controller-manager settings, upstream CA certificates, ClusterSPIFFEIDs.
      type: dict
    license:
      description: License state (C(status), C(state), C(product)); C(status=not_supported) when istiod answers 404.
      type: dict
    missing:
      description: Resources or CRDs that were not found.
      type: list
      elements: str
    requests:
      description: Number of API requests made.
      type: int
      sample: 13
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_client import (
    HAS_KUBERNETES,
    KUBERNETES_IMPORT_ERROR,
    K8sClientError,
    auth_argument_spec,
    sensitive_kubeconfig_values,
)
from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_snapshot import SnapshotError
from ansible_collections.meshops.ambient_spire.plugins.module_utils._mesh_read import (
    clusters_problem,
    read_argument_spec,
    read_cluster,
    read_clusters,
    sensitive_cluster_values,
    snapshot_summary,
)

PER_CLUSTER_OPTIONS = ("cluster_name", "expected_network", "expected_trust_domain", "snapshot_file")


def snapshot_clusters(module):
    """O(clusters) mode: every cluster in parallel; failures are reported per cluster."""
    params = module.params
    problem = clusters_problem(params["clusters"])
    if problem:
        module.fail_json(msg=problem)
    module.no_log_values.update(sensitive_cluster_values(params["clusters"]))
    entries = read_clusters(params)
    for entry in entries:
        if "snapshot_file" in entry:
            del entry["snapshot"]
    module.exit_json(changed=False, clusters=entries)


def main():
    argument_spec = auth_argument_spec()
    argument_spec.update(read_argument_spec())
    argument_spec.update(
        cluster_name={"type": "str"},
        expected_network={"type": "str"},
        expected_trust_domain={"type": "str"},
        snapshot_file={"type": "path"},
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           mutually_exclusive=[("clusters", option) for option in PER_CLUSTER_OPTIONS])
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    params = module.params
    if params["clusters"] is not None:
        snapshot_clusters(module)
    if isinstance(params.get("kubeconfig"), dict):
        module.no_log_values.update(sensitive_kubeconfig_values(params["kubeconfig"]))
    try:
        snapshot = read_cluster(params, params)
    except (SnapshotError, K8sClientError, IOError, OSError) as exc:
        module.fail_json(msg=str(exc))
    if not params["snapshot_file"]:
        module.exit_json(changed=False, snapshot=snapshot)
    module.exit_json(changed=False, snapshot_file=params["snapshot_file"], summary=snapshot_summary(snapshot))


if __name__ == "__main__":
    main()
