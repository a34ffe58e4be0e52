# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared Kubernetes auth argspec and client creation (kubernetes.core semantics). PRIVATE to the collection.

Options come from the task or else from the ``K8S_AUTH_<NAME>`` environment variables, like kubernetes.core, so
``module_defaults: group/meshops.ambient_spire.k8s`` works the same way. When ``host`` plus a credential
(``api_key``, ``username``/``password`` or ``client_cert``/``client_key``) are given, no kubeconfig is loaded.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import traceback

try:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
except ImportError:
    k8s_client = None
    k8s_config = None
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()

AUTH_ARG_SPEC = {
    "kubeconfig": {"type": "raw"},
    "context": {"type": "str"},
    "host": {"type": "str"},
    "api_key": {"type": "str", "no_log": True},
    "username": {"type": "str"},
    "password": {"type": "str", "no_log": True},
    "validate_certs": {"type": "bool", "aliases": ["verify_ssl"]},
    "ca_cert": {"type": "path", "aliases": ["ssl_ca_cert"]},
    "client_cert": {"type": "path", "aliases": ["cert_file"]},
    "client_key": {"type": "path", "aliases": ["key_file"]},
    "proxy": {"type": "str"},
}

ENV_NAMES = {
    "kubeconfig": "K8S_AUTH_KUBECONFIG",
    "context": "K8S_AUTH_CONTEXT",
    "host": "K8S_AUTH_HOST",
    "api_key": "K8S_AUTH_API_KEY",
    "username": "K8S_AUTH_USERNAME",
    "password": "K8S_AUTH_PASSWORD",
    "validate_certs": "K8S_AUTH_VERIFY_SSL",
    "ca_cert": "K8S_AUTH_SSL_CA_CERT",
    "client_cert": "K8S_AUTH_CERT_FILE",
    "client_key": "K8S_AUTH_KEY_FILE",
    "proxy": "K8S_AUTH_PROXY",
}

SENSITIVE_KUBECONFIG_KEYS = ("token", "password", "client-key-data", "client-certificate-data", "certificate-authority-data", "api_key")


class K8sClientError(Exception):
    """The client could not be built (bad kubeconfig, unknown context, missing library)."""


def auth_argument_spec():
    """A copy of the shared auth argspec, to merge into a module's argument_spec."""
    return dict((k, dict(v)) for k, v in AUTH_ARG_SPEC.items())


def sensitive_kubeconfig_values(kubeconfig):
    """Secret strings of a kubeconfig given as a dict (tokens, keys), to add to module.no_log_values."""
    found = set()

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in SENSITIVE_KUBECONFIG_KEYS and isinstance(value, str) and value:
                    found.add(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)
    walk(kubeconfig)
    return found


def _bool(value):
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "true", "yes", "on")


def resolve_auth(params, environ=None):
    """Task options first, then K8S_AUTH_* environment variables."""
    environ = os.environ if environ is None else environ
    auth = {}
    for name in AUTH_ARG_SPEC:
        value = params.get(name)
        if value is None and ENV_NAMES[name] in environ:
            value = environ[ENV_NAMES[name]]
            if name == "validate_certs":
                value = _bool(value)
        if value is not None:
            auth[name] = value
    return auth


def direct_auth(auth):
    """True when host plus a credential are given: kubeconfig and context are not loaded (kubernetes.core rule)."""
    return bool(auth.get("host") and (auth.get("api_key") or (auth.get("username") and auth.get("password"))
                                      or (auth.get("client_cert") and auth.get("client_key"))))


def build_configuration(auth):
    """A kubernetes.client.Configuration from resolved auth options."""
    if not HAS_KUBERNETES:
        raise K8sClientError("the kubernetes Python library is required")
    configuration = k8s_client.Configuration()
    if not direct_auth(auth):
        kubeconfig = auth.get("kubeconfig")
        try:
            if isinstance(kubeconfig, dict):
                k8s_config.load_kube_config_from_dict(kubeconfig, context=auth.get("context"), client_configuration=configuration)
            else:
                path = os.path.expanduser(kubeconfig) if kubeconfig else None
                k8s_config.load_kube_config(config_file=path, context=auth.get("context"), client_configuration=configuration)
        except Exception as exc:  # pylint: disable=broad-exception-caught
            raise K8sClientError("could not load kubeconfig %s (context %s): %s" % (
                kubeconfig if not isinstance(kubeconfig, dict) else "(dict)", auth.get("context") or "(current)", exc))
    if auth.get("host"):
        configuration.host = auth["host"]
    if auth.get("api_key"):
        configuration.api_key = {"authorization": "Bearer %s" % auth["api_key"]}
    if auth.get("username"):
        configuration.username = auth["username"]
    if auth.get("password"):
        configuration.password = auth["password"]
    if auth.get("validate_certs") is not None:
        configuration.verify_ssl = bool(auth["validate_certs"])
    if auth.get("ca_cert"):
        configuration.ssl_ca_cert = auth["ca_cert"]
    if auth.get("client_cert"):
        configuration.cert_file = auth["client_cert"]
    if auth.get("client_key"):
        configuration.key_file = auth["client_key"]
    if auth.get("proxy"):
        configuration.proxy = auth["proxy"]
    return configuration


def create_api_client(params, environ=None):
    """One ApiClient per module run. Raises K8sClientError."""
    auth = resolve_auth(params, environ)
    return k8s_client.ApiClient(configuration=build_configuration(auth))
