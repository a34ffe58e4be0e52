# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
  kubeconfig:
    description:
      - Path to a kubeconfig file, or the kubeconfig content as a dictionary.
      - Defaults to E(K8S_AUTH_KUBECONFIG), else C(~/.kube/config).
      - Secret values of a dictionary (tokens, keys) are masked in the output.
    type: raw
  context:
    description:
      - The kubeconfig context to use; defaults to E(K8S_AUTH_CONTEXT), else the current context.
      - The context name may differ from the cluster name.
    type: str
  host:
    description:
      - URL of the Kubernetes API server; defaults to E(K8S_AUTH_HOST).
      - With a credential (O(api_key), O(username)/O(password) or O(client_cert)/O(client_key)) the kubeconfig is not loaded at all.
    type: str
  api_key:
    description: Bearer token for the API server; defaults to E(K8S_AUTH_API_KEY).
    type: str
  username:
    description: User name for basic authentication; defaults to E(K8S_AUTH_USERNAME).
    type: str
  password:
    description: Password for basic authentication; defaults to E(K8S_AUTH_PASSWORD).
    type: str
  validate_certs:
    description: Whether to verify the API server's TLS certificate; defaults to E(K8S_AUTH_VERIFY_SSL).
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
requirements:
  - kubernetes >= 24.2.0 (Python library)
notes:
  - Options follow C(kubernetes.core), so C(module_defaults) with C(group/meshops.ambient_spire.k8s) set them for every module of the group.
  - If E(K8S_AUTH_HOST) and E(K8S_AUTH_API_KEY) are set in the environment, every host talks to that one server and O(context) is ignored.
'''
