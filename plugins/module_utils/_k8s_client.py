# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes connection of the collection's modules, identical to kubernetes.core's. PRIVATE to the collection.

The options are kubernetes.core's (``AUTH_ARG_SPEC`` of its ``args_common``, documented by its ``k8s_auth_options`` doc
fragment), and so is their meaning: the client configuration and the impersonation headers are built by kubernetes.core's
client factory (``kubernetes.core.plugins.module_utils.k8s.client``), task options first, then the ``K8S_AUTH_*``
environment variables. Only the last step differs: the readers get a plain ``kubernetes.client.ApiClient`` instead of the
factory's dynamic client, which would first ask the API server for its discovery documents and write a discovery cache
file (two more requests per cluster, and a file written in check mode; see bench/mesh_check.py).

Secrets are registered for masking before anything can fail (``K8sAuthModule``): the ``api_key``, ``password`` and proxy
credentials, and the secret values of a kubeconfig given as a dict (``token``, ``client-key-data``, ``secret``,
``access-token``, ``refresh-token``...). A kubeconfig dict is not masked as a whole, unlike kubernetes.core does: its
cluster and context names are not secret and appear in the findings.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import re
import threading
import traceback

from ansible.module_utils.basic import AnsibleModule

try:
    from importlib.util import find_spec
    HAS_KUBERNETES = find_spec("kubernetes") is not None
    KUBERNETES_IMPORT_ERROR = None if HAS_KUBERNETES else "No module named 'kubernetes'"
except ImportError:  # pragma: no cover
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC as K8S_CORE_AUTH_ARG_SPEC
    HAS_K8S_CORE = True
    K8S_CORE_IMPORT_ERROR = None
except ImportError:
    K8S_CORE_AUTH_ARG_SPEC = {}
    HAS_K8S_CORE = False
    K8S_CORE_IMPORT_ERROR = traceback.format_exc()

# kubernetes.client and kubernetes.core's client factory cost about 0.4 s of CPU to import: they are imported on first use
# (create_configuration), so that modules that only need the options and the masking (K8sAuthModule), or that connect
# without them (_k8s_rest's kubeconfig fast path), do not pay for them.
k8s_client = None
k8s_core_client = None


def _import_clients():
    """Import kubernetes.client and kubernetes.core's client factory once. Raises K8sClientError."""
    global k8s_client, k8s_core_client  # pylint: disable=global-statement
    if k8s_core_client is None:
        try:
            from kubernetes import client as kubernetes_client  # pylint: disable=import-outside-toplevel
            from ansible_collections.kubernetes.core.plugins.module_utils.k8s import client as core_client  # pylint: disable=import-outside-toplevel
        except ImportError as exc:
            raise K8sClientError("the kubernetes Python library and the kubernetes.core collection are required: %s" % exc)
        k8s_client, k8s_core_client = kubernetes_client, core_client
    return k8s_client, k8s_core_client


# Keys whose values are secret wherever they appear in the parameters: in a kubeconfig dict (users[].user, its
# auth-provider config), and the auth options themselves.
SENSITIVE_KEYS = frozenset((
    "token", "password", "client-key-data", "client-certificate-data", "certificate-authority-data",
    "secret", "client-secret", "access-token", "refresh-token", "id-token",
    "api_key", "proxy_basic_auth", "basic_auth",
))

# kubernetes.config loads a kubeconfig into the process-wide default Configuration that the factory then copies:
# clusters read in parallel threads take turns there, or one could copy another's.
_CONFIGURATION_LOCK = threading.Lock()


class K8sClientError(Exception):
    """The client could not be built (bad kubeconfig, unknown context, missing library)."""


def auth_argument_spec():
    """kubernetes.core's auth options (a deep copy, to merge into an argument_spec or a suboption spec).

    ``kubeconfig`` is not no_log as a whole (see the module docstring); its secret values are masked by K8sAuthModule.
    """
    spec = copy.deepcopy(K8S_CORE_AUTH_ARG_SPEC)
    if "kubeconfig" in spec:
        spec["kubeconfig"]["no_log"] = False
    return spec


# Names of exec credential plugin environment variables that carry secrets (AWS_SECRET_ACCESS_KEY, AZURE_CLIENT_SECRET,
# VAULT_TOKEN, ...). Only these are masked: masking every value (AWS_PROFILE=prod) would mask that word in every output.
_SECRET_ENV_NAME = re.compile(r"SECRET|TOKEN|PASSW|KEY|CREDENTIAL|AUTH", re.I)


def _exec_env_values(exec_config):
    """The secret values of an exec credential plugin's environment (kubeconfig users[].user.exec.env)."""
    env = exec_config.get("env") if isinstance(exec_config, dict) else None
    return [item.get("value") for item in env if isinstance(item, dict) and _SECRET_ENV_NAME.search(str(item.get("name") or ""))] \
        if isinstance(env, list) else []


def sensitive_values(params):
    """Every non-empty string under a SENSITIVE_KEYS key, anywhere in params (dicts and lists, any depth), and the values of
    exec credential plugins' environments."""
    found = set()

    def walk(node, secret):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "exec":
                    walk(_exec_env_values(value), True)
                walk(value, secret or key in SENSITIVE_KEYS)
        elif isinstance(node, (list, tuple)):
            for item in node:
                walk(item, secret)
        elif secret and isinstance(node, str) and node:
            found.add(node)
    walk(params, False)
    return found


class K8sAuthModule(AnsibleModule):
    """An AnsibleModule that registers the connection secrets for masking as soon as the parameters are loaded.

    That is before the argument spec is validated: every failure, of the validation too, has them masked.
    """

    def _load_params(self):
        super(K8sAuthModule, self)._load_params()
        self.no_log_values.update(sensitive_values(self.params))


def _fail_message(params, exc):
    kubeconfig = params.get("kubeconfig")
    return "could not load kubeconfig %s (context %s): %s" % (
        "(dict)" if isinstance(kubeconfig, dict) else kubeconfig, params.get("context") or "(current)", exc)


def create_configuration(params):
    """(kubernetes.client.Configuration, impersonation headers) from the auth options in params, as kubernetes.core builds them.

    Raises K8sClientError.
    """
    if not HAS_KUBERNETES:
        raise K8sClientError("the kubernetes Python library is required")
    if not HAS_K8S_CORE:
        raise K8sClientError("the kubernetes.core collection is required")
    dummy, core_client = _import_clients()
    with _CONFIGURATION_LOCK:
        try:
            auth = core_client._create_auth_spec(**params)  # pylint: disable=protected-access
            configuration = core_client._create_configuration(auth)  # pylint: disable=protected-access
            headers = core_client._create_headers(**params)  # pylint: disable=protected-access
        except Exception as exc:  # pylint: disable=broad-exception-caught
            raise K8sClientError(_fail_message(params, exc))
    return configuration, headers


def create_api_client(params):
    """A plain ApiClient for the auth options in params (one per cluster and module run). Raises K8sClientError."""
    configuration, headers = create_configuration(params)
    kubernetes_client, core_client = _import_clients()
    api_client = kubernetes_client.ApiClient(configuration=configuration)
    for header, value in headers.items():
        core_client._set_header(api_client, header, value)  # pylint: disable=protected-access
    return api_client
