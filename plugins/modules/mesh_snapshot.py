#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: mesh_snapshot
short_description: Take a compact, read-only snapshot of one cluster of an ambient + SPIRE mesh
version_added: 0.1.0
description:
  - Reads, with a bounded number of API requests (about 13, independent of object counts), everything the
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
author:
  - meshops platform engineering (@meshops)
extends_documentation_fragment:
  - meshops.ambient_spire._k8s_auth
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
  istio_namespace:
    description: Namespace of istiod and the C(cacerts) Secret.
    type: str
    default: istio-system
  spire_namespace:
    description: Namespace of the SPIRE server, its ConfigMaps and the upstream CA secret.
    type: str
    default: spire-server
  spire_agent_namespace:
    description: Namespace of the SPIRE agent ConfigMap, when it differs from O(spire_namespace).
    type: str
  spire_upstream_ca_secret:
    description: Name of the SPIRE upstream authority (disk) secret with C(tls.crt), C(tls.key) and C(bundle.crt).
    type: str
    default: spiffe-upstream-ca
  expected_network:
    description: The network declared for this cluster (C(mesh_network)); checked against the cluster's labels.
    type: str
  expected_trust_domain:
    description: The trust domain declared for this cluster (C(mesh_trust_domain)); checked against SPIRE and the mesh config.
    type: str
  license_check:
    description: Whether to query the license state of istiod through the API pod proxy.
    type: bool
    default: true
  request_timeout:
    description: Timeout of each API request, in seconds.
    type: int
    default: 30
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
'''

RETURN = r'''
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

import json
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_client import (
    HAS_KUBERNETES,
    KUBERNETES_IMPORT_ERROR,
    K8sClientError,
    auth_argument_spec,
    create_api_client,
    sensitive_kubeconfig_values,
)
from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_snapshot import SnapshotError, take_snapshot


def write_snapshot(path, snapshot):
    """Write the snapshot as JSON to path: 0600, through a temporary file in the same directory, then renamed."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(snapshot, separators=(",", ":")))  # one shot: the C encoder (json.dump streams in Python)
        os.chmod(tmp, 0o600)
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main():
    argument_spec = auth_argument_spec()
    argument_spec.update(
        cluster_name={"type": "str"},
        istio_namespace={"type": "str", "default": "istio-system"},
        spire_namespace={"type": "str", "default": "spire-server"},
        spire_agent_namespace={"type": "str"},
        spire_upstream_ca_secret={"type": "str", "default": "spiffe-upstream-ca", "no_log": False},
        expected_network={"type": "str"},
        expected_trust_domain={"type": "str"},
        license_check={"type": "bool", "default": True},
        request_timeout={"type": "int", "default": 30},
        snapshot_file={"type": "path"},
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    params = module.params
    if isinstance(params.get("kubeconfig"), dict):
        module.no_log_values.update(sensitive_kubeconfig_values(params["kubeconfig"]))
    label = params.get("cluster_name") or params.get("context") or "(current context)"
    try:
        api_client = create_api_client(params)
    except K8sClientError as exc:
        module.fail_json(msg="cluster %s: %s" % (label, exc))
    try:
        snapshot = take_snapshot(
            api_client,
            cluster_name=params["cluster_name"],
            context=params.get("context"),
            istio_namespace=params["istio_namespace"],
            spire_namespace=params["spire_namespace"],
            spire_agent_namespace=params["spire_agent_namespace"],
            upstream_ca_secret=params["spire_upstream_ca_secret"],
            expected_network=params["expected_network"],
            expected_trust_domain=params["expected_trust_domain"],
            license_check=params["license_check"],
            timeout=params["request_timeout"],
        )
    except SnapshotError as exc:
        module.fail_json(msg=str(exc))
    if not params["snapshot_file"]:
        module.exit_json(changed=False, snapshot=snapshot)
    try:
        write_snapshot(params["snapshot_file"], snapshot)
    except (IOError, OSError) as exc:
        module.fail_json(msg="cluster %s: cannot write the snapshot to %s: %s" % (snapshot.get("cluster") or label, params["snapshot_file"], exc))
    summary = dict((key, snapshot.get(key)) for key in ("cluster", "requests", "missing", "seconds"))
    module.exit_json(changed=False, snapshot_file=params["snapshot_file"], summary=summary)


if __name__ == "__main__":
    main()
