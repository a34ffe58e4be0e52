#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: mesh_snapshot_info
short_description: Read the compact snapshot of one cluster of an ambient + SPIRE mesh, as the mesh check sees it
version_added: 0.1.0
description:
  - Reads, with a bounded number of API requests (13, or up to 15 when the license request through the pod proxy is asked again
    after a 5xx; independent of object counts), everything the checks of M(meshops.ambient_spire.mesh_check) evaluate in one
    cluster, and returns it. Useful to see why a check reports what it reports, or to write checks of your own.
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
  - Writes nothing, neither to the cluster nor to a file.
  - The connection options are those of C(kubernetes.core), with the same meaning and the same C(K8S_AUTH_*) environment
    variables. The secret values of a kubeconfig given as a dict (C(token), C(client-key-data), C(secret), C(access-token),
    C(refresh-token)...) are masked in every output, from before any failure.
author:
  - meshops platform engineering (@meshops)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - meshops.ambient_spire._mesh_read
  - meshops.ambient_spire._attributes
  - meshops.ambient_spire._attributes.info_module
attributes:
  action_group:
    description: Use C(group/meshops.ambient_spire.k8s) in C(module_defaults) to set the connection options.
    support: full
    membership:
      - meshops.ambient_spire.k8s
options:
  cluster_name:
    description:
      - Name of the cluster in the mesh (istiod C(CLUSTER_ID), C(istio-remote-peer-<name>)); the key of this snapshot, and the
        name in error messages.
      - Defaults to the istiod C(CLUSTER_ID), else the context name.
    type: str
requirements:
  - kubernetes >= 24.2.0 (Python library), for connections other than a kubeconfig with a token or a client certificate
seealso:
  - module: meshops.ambient_spire.mesh_check
'''

EXAMPLES = r'''
- name: Read what the mesh check sees in this cluster
  meshops.ambient_spire.mesh_snapshot_info:
    kubeconfig: "{{ kubeconfig_path }}"
    context: "{{ kube_context }}"
    cluster_name: "{{ mesh_cluster_name | default(inventory_hostname) }}"
  register: cluster_snapshot

- name: Show whether its cacerts hold a key that matches, and its peer gateways
  ansible.builtin.debug:
    msg:
      cacerts_key_present: "{{ cluster_snapshot.snapshot.cacerts.key_present | default(false) }}"
      cacerts_key_matches: "{{ cluster_snapshot.snapshot.cacerts.key_matches | default(none) }}"
      peers: "{{ cluster_snapshot.snapshot.gateways | selectattr('class', 'equalto', 'istio-remote') | map(attribute='name') }}"

- name: Read with the connection set by module_defaults, without the license request
  meshops.ambient_spire.mesh_snapshot_info:
    cluster_name: cluster1
    license_check: false
'''

RETURN = r'''
snapshot:
  description:
    - The compact snapshot of the cluster, what M(meshops.ambient_spire.mesh_check) evaluates. Its layout may change between
      releases of the collection (it follows the checks).
    - Certificates are PEM texts; keys and license keys are never included.
  returned: success
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
      description:
        - C(cacerts) certificates, whether C(ca-key.pem) is there (C(key_present)) and matches C(ca-cert.pem) (C(key_matches)); never
          the key.
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

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_client import (
    HAS_K8S_CORE,
    HAS_KUBERNETES,
    K8S_CORE_IMPORT_ERROR,
    KUBERNETES_IMPORT_ERROR,
    K8sAuthModule,
    K8sClientError,
    auth_argument_spec,
)
from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_snapshot import SnapshotError
from ansible_collections.meshops.ambient_spire.plugins.module_utils._mesh_read import read_cluster, read_options_spec


def main():
    argument_spec = auth_argument_spec()
    argument_spec.update(read_options_spec())
    argument_spec.update(cluster_name={"type": "str"})
    # a kubeconfig dict's secrets are masked from the start, before the argument validation can fail
    module = K8sAuthModule(argument_spec=argument_spec, supports_check_mode=True)
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    if not HAS_K8S_CORE:
        module.fail_json(msg="the kubernetes.core collection is required", exception=K8S_CORE_IMPORT_ERROR)
    try:
        snapshot = read_cluster(module.params, module.params)
    except (SnapshotError, K8sClientError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, snapshot=snapshot)


if __name__ == "__main__":
    main()
