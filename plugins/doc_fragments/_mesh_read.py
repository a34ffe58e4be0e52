# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
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
  license_check:
    description: Whether to query the license state of istiod through the API pod proxy.
    type: bool
    default: true
  request_timeout:
    description: Timeout of each API request, in seconds.
    type: int
    default: 30
  clusters:
    description:
      - Read these clusters in one module run, in parallel threads (one client import and one module start for the whole mesh).
      - Each cluster connects with its own auth options, else the C(K8S_AUTH_*) environment variables. Module-level auth options
        (and C(module_defaults)) are not used for them, so that a cluster without a C(context) never reads another cluster's.
      - With more than one cluster, each needs its own O(clusters[].context) or O(clusters[].host); otherwise they would all read
        the same cluster, and the task fails before reading.
      - A cluster that cannot be read (after O(attempts)) is reported in RV(clusters) and does not fail the task, so that the
        caller can fail that cluster only.
    type: list
    elements: dict
    suboptions:
      name:
        description: Key of this cluster in RV(clusters) (for example the inventory host name).
        type: str
        required: true
      cluster_name:
        description:
          - Name of the cluster in the mesh (istiod C(CLUSTER_ID), C(istio-remote-peer-<name>)); the key of its snapshot.
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
          - Also write this cluster's snapshot as JSON to this file (mode 0600, replaced atomically) on the host that runs the
            module; the directory must exist. Written in check mode too, since it is the local, secret-free result of the reads.
          - A file can be evaluated later with O(meshops.ambient_spire.mesh_check#module:snapshot_files).
        type: path
      kubeconfig:
        description: Path to a kubeconfig, or its content as a dict, for this cluster.
        type: raw
      context:
        description: The kubeconfig context of this cluster.
        type: str
      host:
        description: API server URL of this cluster.
        type: str
      api_key:
        description: Bearer token for this cluster.
        type: str
      username:
        description: Basic auth user name for this cluster.
        type: str
      password:
        description: Basic auth password for this cluster.
        type: str
      validate_certs:
        description: Whether to verify the API server's certificate.
        type: bool
        aliases: [verify_ssl]
      ca_cert:
        description: CA certificate file of the API server.
        type: path
        aliases: [ssl_ca_cert]
      client_cert:
        description: Client certificate file.
        type: path
        aliases: [cert_file]
      client_key:
        description: Client key file.
        type: path
        aliases: [key_file]
      proxy:
        description: HTTP proxy URL.
        type: str
  attempts:
    description: With O(clusters), how many times a cluster is read before it is reported as failed (transient API errors).
    type: int
    default: 1
  attempt_delay:
    description: Seconds between two attempts on one cluster.
    type: int
    default: 3
'''
