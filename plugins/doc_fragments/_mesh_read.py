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
'''

    # The clusters of mesh_check, each with its own connection (the suboptions are kubernetes.core's auth options).
    CLUSTERS = r'''
options:
  clusters:
    description:
      - Read these clusters in one module run, in parallel threads (one client import and one module start for the whole mesh).
      - Each cluster connects with its own auth options, else the C(K8S_AUTH_*) environment variables, like the modules of
        C(kubernetes.core) (the suboptions below are its auth options, see M(kubernetes.core.k8s_info)). Module-level auth options
        and C(module_defaults) are not used for them, so that a cluster without a C(context) never reads another cluster's.
      - With more than one cluster, each needs its own O(clusters[].context) or O(clusters[].host); otherwise they would all read
        the same cluster, and the task fails before reading.
      - A cluster that cannot be read (after O(attempts)) is reported in RV(clusters) and does not fail the task, so that the
        caller can fail that cluster only.
      - The secret values of a kubeconfig given as a dict (C(token), C(password), C(client-key-data), C(client-certificate-data),
        C(certificate-authority-data), C(secret), C(client-secret), C(access-token), C(refresh-token), C(id-token)) are masked in
        every output, from before any failure. The rest of the dict (cluster and context names) is not.
    type: list
    elements: dict
    required: true
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
    description: How many times a cluster is read before it is reported as failed (transient API errors).
    type: int
    default: 1
  attempt_delay:
    description: Seconds between two attempts on one cluster.
    type: int
    default: 3
'''
