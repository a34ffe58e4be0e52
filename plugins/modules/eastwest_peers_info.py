#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: eastwest_peers_info
short_description: Read the east-west address of every cluster of a mesh, in one process
version_added: 1.1.0
description:
  - For every cluster of O(clusters), each with its own connection, reads the east-west Service (label
    C(istio.io/expose-istiod) in O(clusters[].namespace), the one named O(clusters[].gateway_name) first) and returns the
    east-west facts the peer Gateways of the other clusters are built from (filter C(meshops.ambient_spire.peer_gateways)).
  - The address is the one C(istioctl multicluster link) takes, the annotation C(istio.io/expose-istiod-address) (an IP
    gives C(IPAddress), anything else C(Hostname)), else the first load balancer ingress IP, else its hostname; null when
    the Service has none yet (or there is no east-west Service).
  - The clusters are read in parallel threads, one request each. A cluster that cannot be read is reported in
    RV(clusters) with its error; it does not fail the task.
  - Writes nothing. Not in the C(k8s) action group (each cluster brings its own connection).
author:
  - meshops platform engineering (@meshops)
extends_documentation_fragment:
  - meshops.ambient_spire._attributes
  - meshops.ambient_spire._attributes.info_module
options:
  clusters:
    description:
      - The clusters, each with the connection options of C(kubernetes.core) (C(kubeconfig), C(context), C(host),
        C(api_key), ...; the C(K8S_AUTH_*) environment variables fill what is not set) and its east-west facts.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name of the entry (the inventory host).
        type: str
        required: true
      cluster:
        description: Cluster name (C(istio-remote-peer-<cluster>)).
        type: str
        required: true
      network:
        description: Network of the cluster.
        type: str
        required: true
      trust_domain:
        description: Trust domain of the cluster.
        type: str
        required: true
      region:
        description: Optional region label announced to the peers.
        type: str
        default: ""
      zone:
        description: Optional zone label announced to the peers.
        type: str
        default: ""
      namespace:
        description: Namespace of the east-west Service.
        type: str
        default: istio-eastwest
      gateway_name:
        description: Name of the east-west Gateway (its Service has the same name; default service account of the peers).
        type: str
        default: istio-eastwest
      kubeconfig:
        description: See C(kubernetes.core) auth options.
        type: raw
      context:
        description: See C(kubernetes.core) auth options.
        type: str
      host:
        description: See C(kubernetes.core) auth options.
        type: str
      api_key:
        description: See C(kubernetes.core) auth options.
        type: str
      username:
        description: See C(kubernetes.core) auth options.
        type: str
      password:
        description: See C(kubernetes.core) auth options.
        type: str
      validate_certs:
        description: See C(kubernetes.core) auth options.
        type: bool
        aliases: [verify_ssl]
      ca_cert:
        description: See C(kubernetes.core) auth options.
        type: path
        aliases: [ssl_ca_cert]
      client_cert:
        description: See C(kubernetes.core) auth options.
        type: path
        aliases: [cert_file]
      client_key:
        description: See C(kubernetes.core) auth options.
        type: path
        aliases: [key_file]
      proxy:
        description: See C(kubernetes.core) auth options.
        type: str
      no_proxy:
        description: See C(kubernetes.core) auth options.
        type: str
      proxy_headers:
        description: See C(kubernetes.core) auth options.
        type: dict
        suboptions:
          proxy_basic_auth:
            description: Colon-separated user name and password for the proxy.
            type: str
          basic_auth:
            description: Colon-separated user name and password for basic authentication.
            type: str
          user_agent:
            description: The user agent.
            type: str
      persist_config:
        description: See C(kubernetes.core) auth options.
        type: bool
      impersonate_user:
        description: See C(kubernetes.core) auth options.
        type: str
      impersonate_groups:
        description: See C(kubernetes.core) auth options.
        type: list
        elements: str
  api_attempts:
    description: Attempts of every request on transient errors.
    type: int
    default: 3
  api_retry_delay:
    description: Seconds between those attempts.
    type: int
    default: 3
  request_timeout:
    description: Seconds a request may take.
    type: int
    default: 30
requirements:
  - PyYAML
  - kubernetes >= 24.2.0 (Python library), for connections other than a kubeconfig with a token or a client certificate
seealso:
  - module: meshops.ambient_spire.k8s_apply
'''

EXAMPLES = r'''
- name: Read the east-west address of every cluster of the play
  meshops.ambient_spire.eastwest_peers_info:
    clusters: >-
      {{ ansible_play_hosts | map('extract', hostvars)
         | map(attribute='eastwest_link_source') | list }}
  run_once: true
  register: eastwest_read
'''

RETURN = r'''
peers:
  description:
    - East-west facts of the clusters that were read (C(cluster), C(network), C(trust_domain), C(service_account), C(address)
      or null, C(region), C(zone)).
  returned: always
  type: list
  elements: dict
clusters:
  description: One entry per cluster, in the order given, C(name) and C(peer), or C(name), C(failed) and C(msg).
  returned: always
  type: list
  elements: dict
'''

from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_client import K8sAuthModule, auth_argument_spec
from ansible_collections.meshops.ambient_spire.plugins.module_utils._eastwest_read import read_peers
from ansible_collections.meshops.ambient_spire.plugins.module_utils._module_run import ModuleFailure, run_as_module


def argument_spec():
    cluster = auth_argument_spec()
    cluster.update(
        name={"type": "str", "required": True},
        cluster={"type": "str", "required": True},
        network={"type": "str", "required": True},
        trust_domain={"type": "str", "required": True},
        region={"type": "str", "default": ""},
        zone={"type": "str", "default": ""},
        namespace={"type": "str", "default": "istio-eastwest"},
        gateway_name={"type": "str", "default": "istio-eastwest"},
    )
    return {
        "clusters": {"type": "list", "elements": "dict", "required": True, "options": cluster},
        "api_attempts": {"type": "int", "default": 3},
        "api_retry_delay": {"type": "int", "default": 3},
        "request_timeout": {"type": "int", "default": 30},
    }


def execute(params, check_mode=False, warn=None):  # pylint: disable=unused-argument
    names = [cluster["name"] for cluster in params["clusters"]]
    if len(set(names)) != len(names):
        raise ModuleFailure("clusters: every name must be unique")
    entries = read_peers(params["clusters"], attempts=params["api_attempts"], delay=params["api_retry_delay"], timeout=params["request_timeout"])
    return dict(changed=False, clusters=entries, peers=[entry["peer"] for entry in entries if "peer" in entry])


def main():
    run_as_module(K8sAuthModule(argument_spec=argument_spec(), supports_check_mode=True), execute)


if __name__ == "__main__":
    main()
