# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small Kubernetes REST client for the collection's modules that write. PRIVATE to the collection.

The connection options are kubernetes.core's (``_k8s_client.auth_argument_spec``), with the same meaning and the same
``K8S_AUTH_*`` environment variables. ``connect`` takes one of two paths to the same configuration:

- the fast path, when the options (after the environment) name only a kubeconfig (one file, or a dict) and maybe a
  context, the context's user authenticates with a bearer token and/or a client certificate, its cluster has a server
  and a CA (or ``insecure-skip-tls-verify``), and no proxy applies: the kubeconfig is read here. This avoids importing
  the kubernetes client (about 0.4 s of CPU per module run, more than the rest of a converged apply);
- every other case (``host``/``api_key``, impersonation, proxies, exec and auth-provider plugins, a ``KUBECONFIG`` list,
  in-cluster config...): kubernetes.core's client configuration (``_k8s_client.create_configuration``) and the
  kubernetes client's own connection pool, used as they are.

Requests are plain JSON with keep-alive (the standard library's http.client on the fast path, the kubernetes client's
urllib3 pool otherwise); transient errors (connection resets, timeouts, 429 and 5xx answers but 501, and 409 for
idempotent writes such as server-side apply) are retried ``attempts`` times.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import json
import os
import ssl
import tempfile
import threading
import time

try:
    from http.client import HTTPConnection, HTTPException, HTTPSConnection
    from urllib.parse import quote, urlencode, urlsplit
except ImportError:  # pragma: no cover
    from httplib import HTTPConnection, HTTPException, HTTPSConnection  # type: ignore
    from urllib import quote, urlencode  # type: ignore
    from urlparse import urlsplit  # type: ignore

try:
    import yaml
    YAML_LOADER = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
    HAS_YAML = True
except ImportError:  # pragma: no cover
    YAML_LOADER = None
    HAS_YAML = False

from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_client import K8sClientError, create_configuration
from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_snapshot import status_message

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_MAP, AUTH_ARG_SPEC, AUTH_PROXY_HEADERS_SPEC
except ImportError:  # pragma: no cover
    AUTH_ARG_MAP, AUTH_ARG_SPEC, AUTH_PROXY_HEADERS_SPEC = {}, {}, {}

TRANSIENT_STATUS = frozenset((429, 500, 502, 503, 504))
USER_KEYS = frozenset(("token", "client-certificate", "client-certificate-data", "client-key", "client-key-data"))
CLUSTER_KEYS = frozenset(("server", "certificate-authority", "certificate-authority-data", "insecure-skip-tls-verify", "extensions"))

# Kinds every API server serves, with their plural and scope: no discovery request for them.
BUILTIN_RESOURCES = {
    ("v1", "Namespace"): ("namespaces", False),
    ("v1", "Node"): ("nodes", False),
    ("v1", "Secret"): ("secrets", True),
    ("v1", "ConfigMap"): ("configmaps", True),
    ("v1", "Service"): ("services", True),
    ("v1", "ServiceAccount"): ("serviceaccounts", True),
    ("v1", "Pod"): ("pods", True),
    ("v1", "PersistentVolumeClaim"): ("persistentvolumeclaims", True),
    ("apps/v1", "Deployment"): ("deployments", True),
    ("apps/v1", "StatefulSet"): ("statefulsets", True),
    ("apps/v1", "DaemonSet"): ("daemonsets", True),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): ("customresourcedefinitions", False),
}


class ApiError(Exception):
    """A request that failed (after its attempts): status (None for a connection error), reason, message, attempts."""

    def __init__(self, method, path, status, reason, message, attempts=1):
        self.method, self.path, self.status, self.reason, self.message, self.attempts = method, path, status, reason, message, attempts
        if status:
            text = "HTTP %s %s" % (status, reason or "")
            text = text.rstrip() + (": %s" % message if message and message != reason else "")
        else:
            text = "connection error: %s" % message
        super(ApiError, self).__init__("%s (%s %s)" % (text, method, path))


class UnknownKind(Exception):
    """The API server does not serve this apiVersion/kind (its CRD is missing or not established yet)."""


# --- connection ---------------------------------------------------------------------------------------------------


def auth_from_params(params, environ=None):
    """kubernetes.core's view of the auth options: the task's values, else the K8S_AUTH_* environment (its _create_auth_spec).

    Returns ({kubernetes-client name: value}, {impersonation header: value}).
    """
    environ = os.environ if environ is None else environ
    auth = {}
    for true_name, arg_name in AUTH_ARG_MAP.items():
        if params.get(arg_name) is not None:
            auth[true_name] = params[arg_name]
        elif arg_name == "proxy_headers":
            headers = {}
            for key, spec in AUTH_PROXY_HEADERS_SPEC.items():
                value = environ.get("K8S_AUTH_PROXY_HEADERS_%s" % key.upper())
                if value is not None:
                    headers[key] = value.lower() not in ("0", "false", "no") if spec.get("type") == "bool" else value
            auth[true_name] = headers
        else:
            value = environ.get("K8S_AUTH_%s" % arg_name.upper()) or environ.get("K8S_AUTH_%s" % true_name.upper())
            if value is not None:
                auth[true_name] = value.lower() not in ("0", "false", "no") if AUTH_ARG_SPEC.get(arg_name, {}).get("type") == "bool" else value
    impersonation = {}
    for arg_name, header in (("impersonate_user", "Impersonate-User"), ("impersonate_groups", "Impersonate-Group")):
        value = params.get(arg_name)
        if value is None:
            value = environ.get("K8S_AUTH_%s" % arg_name.upper())
            if value is not None and arg_name == "impersonate_groups":
                value = [item for item in value.split(",") if item]
        if value:
            impersonation[header] = value
    return auth, impersonation


def environment_proxies(environ):
    """{scheme: proxy} of the *_proxy variables of an environment (urllib's getproxies, for a given environment)."""
    proxies = {}
    for name, value in environ.items():
        if value and name.lower().endswith("_proxy") and name.lower() != "no_proxy":
            proxies[name.lower()[:-len("_proxy")]] = value
    return proxies


def _named(items, name):
    for item in items or []:
        if isinstance(item, dict) and item.get("name") == name:
            return item
    return None


_KUBECONFIG_CACHE = {}
_KUBECONFIG_LOCK = threading.Lock()


def _read_kubeconfig(path):
    """The parsed kubeconfig file (read once per process and version of the file: clusters read in parallel share it)."""
    info = os.stat(path)
    key = (path, info.st_mtime_ns, info.st_size)
    with _KUBECONFIG_LOCK:
        if key not in _KUBECONFIG_CACHE:
            with open(path, "rb") as handle:
                _KUBECONFIG_CACHE[key] = yaml.load(handle, Loader=YAML_LOADER)  # nosec B506: a safe loader
        return _KUBECONFIG_CACHE[key]


def plain_kubeconfig(auth, impersonation, environ=None):
    """The fast path's settings for these auth options, or None when kubernetes.core's loader must decide.

    Returns a dict: server, token, ca_data (PEM bytes) or ca_file, cert/key (PEM bytes) or cert_file/key_file, verify.
    """
    environ = os.environ if environ is None else environ
    if impersonation or not HAS_YAML:
        return None
    if any(value not in (None, "", {}, []) for key, value in auth.items() if key not in ("kubeconfig", "context")):
        return None
    kubeconfig = auth.get("kubeconfig")
    base_dir = None
    if isinstance(kubeconfig, dict):
        config = kubeconfig
    elif isinstance(kubeconfig, str) and kubeconfig and os.pathsep not in kubeconfig:
        path = os.path.expanduser(kubeconfig)
        if not os.path.isfile(path):
            return None
        try:
            config = _read_kubeconfig(path)
        except (OSError, ValueError, yaml.YAMLError):
            return None
        base_dir = os.path.dirname(os.path.abspath(path))
    else:
        return None
    if not isinstance(config, dict):
        return None
    context = _named(config.get("contexts"), auth.get("context") or config.get("current-context"))
    context = (context or {}).get("context") or {}
    cluster = ((_named(config.get("clusters"), context.get("cluster")) or {}).get("cluster")) or {}
    user = ((_named(config.get("users"), context.get("user")) or {}).get("user"))
    if not cluster.get("server") or not isinstance(user, dict) or set(user) - USER_KEYS or set(cluster) - CLUSTER_KEYS:
        return None
    server = str(cluster["server"]).rstrip("/")
    proxies = environment_proxies(environ)
    if server.startswith("https") and (proxies.get("https") or proxies.get("all")) or server.startswith("http:") and (
            proxies.get("http") or proxies.get("all")):
        return None

    def data_or_file(section, key):
        if section.get(key + "-data"):
            return base64.b64decode(section[key + "-data"]), None
        if section.get(key):
            path = section[key]
            return None, path if os.path.isabs(path) or base_dir is None else os.path.join(base_dir, path)
        return None, None
    settings = {"server": server, "verify": not cluster.get("insecure-skip-tls-verify", False),
                "token": user.get("token") or None}
    settings["ca_data"], settings["ca_file"] = data_or_file(cluster, "certificate-authority")
    settings["cert"], settings["cert_file"] = data_or_file(user, "client-certificate")
    settings["key"], settings["key_file"] = data_or_file(user, "client-key")
    if bool(settings["cert"] or settings["cert_file"]) != bool(settings["key"] or settings["key_file"]):
        return None
    return settings


def _ssl_context(settings):
    context = ssl.create_default_context(cafile=settings["ca_file"],
                                         cadata=settings["ca_data"].decode("ascii") if settings["ca_data"] else None)
    if not settings["verify"]:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if settings["cert"] or settings["cert_file"]:
        if settings["cert_file"]:
            context.load_cert_chain(settings["cert_file"], settings["key_file"])
        else:
            # ssl loads client certificates from files only: a private directory, removed right after loading
            directory = tempfile.mkdtemp(prefix="meshops-k8s-")
            try:
                cert_path, key_path = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
                for path, data in ((cert_path, settings["cert"]), (key_path, settings["key"])):
                    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    with os.fdopen(descriptor, "wb") as handle:
                        handle.write(data)
                context.load_cert_chain(cert_path, key_path)
            finally:
                for name in os.listdir(directory):
                    os.unlink(os.path.join(directory, name))
                os.rmdir(directory)
    return context


def _loads_kubeconfig(auth):
    """Whether kubernetes.core loads a kubeconfig (or the in-cluster config) for these auth options (its _create_configuration)."""
    def given(*names):
        return all(auth.get(name) for name in names)
    return not (given("username", "password", "host") or given("api_key", "host") or given("cert_file", "key_file", "host"))


class FastSender(object):
    """Requests over one keep-alive http.client connection per thread."""

    def __init__(self, server, ssl_context):
        parts = urlsplit(server)
        self.https = parts.scheme == "https"
        self.address = (parts.hostname, parts.port or (443 if self.https else 80))
        self.prefix = parts.path.rstrip("/")
        self.ssl_context = ssl_context
        self.local = threading.local()

    def _connection(self, timeout):
        if getattr(self.local, "connection", None) is None:
            if self.https:
                self.local.connection = HTTPSConnection(self.address[0], self.address[1], timeout=timeout, context=self.ssl_context)
            else:
                self.local.connection = HTTPConnection(self.address[0], self.address[1], timeout=timeout)
            self.local.used = False
        return self.local.connection

    def _drop(self):
        if getattr(self.local, "connection", None) is not None:
            self.local.connection.close()
        self.local.connection = None

    def send(self, method, path, body, headers, timeout):
        for fresh in (False, True):
            connection = self._connection(timeout)
            reused = self.local.used
            try:
                connection.request(method, self.prefix + path, body=body, headers=headers)
                response = connection.getresponse()
                data = response.read()
            except (HTTPException, OSError):
                self._drop()
                # a kept-alive connection the server closed meanwhile: once more on a new one, at once
                if reused and not fresh:
                    continue
                raise
            self.local.used = True
            if response.will_close:
                self._drop()
            return response.status, response.reason, data
        return None  # pragma: no cover


class PoolSender(object):
    """Requests through the kubernetes client's urllib3 pool manager (proxies, TLS server name...)."""

    def __init__(self, host, pool):
        self.host = host
        self.pool = pool

    def send(self, method, path, body, headers, timeout):
        import urllib3  # pylint: disable=import-outside-toplevel
        response = self.pool.request(method, self.host + path, body=body, headers=headers, retries=False, preload_content=True,
                                     timeout=urllib3.Timeout(total=timeout), redirect=False)
        return response.status, response.reason, response.data


def transport_errors(fast=True):
    """The exceptions of a request that never got an answer (connection refused or reset, timeout, TLS)."""
    errors = (HTTPException, OSError)
    if fast:
        return errors
    try:
        import urllib3  # pylint: disable=import-outside-toplevel
        errors += (urllib3.exceptions.HTTPError,)
    except ImportError:  # pragma: no cover
        pass
    return errors


class Connection(object):
    """Where and how to send requests: the server, the headers (authorization, impersonation), a sender."""

    def __init__(self, host, headers, sender, fast):
        self.host = host
        self.headers = headers
        self.sender = sender
        self.fast = fast

    def send(self, method, url, body=None, content_type=None, timeout=30):
        """(status, reason, data) of one request to url (a path with its query); transport errors raise (transport_errors)."""
        headers = dict(self.headers) if self.fast else _header_dict(self.headers)
        headers["Accept"] = "application/json"
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
        return self.sender.send(method, url, body, headers, timeout)


def connect(params, environ=None):
    """A Connection for kubernetes.core's auth options in params. Raises K8sClientError."""
    auth, impersonation = auth_from_params(params, environ)
    settings = plain_kubeconfig(auth, impersonation, environ)
    if settings is not None:
        headers = [("Authorization", "Bearer %s" % settings["token"])] if settings["token"] else []
        try:
            context = _ssl_context(settings) if settings["server"].startswith("https") else None
        except (OSError, ssl.SSLError, ValueError) as exc:
            raise K8sClientError("could not load the TLS settings of kubeconfig %s (context %s): %s" % (
                "(dict)" if isinstance(auth.get("kubeconfig"), dict) else auth.get("kubeconfig"), auth.get("context") or "(current)", exc))
        return Connection(settings["server"], headers, FastSender(settings["server"], context), True)
    configuration, impersonation_headers = create_configuration(params)
    if not _loads_kubeconfig(auth):
        # kubernetes.core copies the process-wide default configuration, which carries the token refresh hook of the last
        # kubeconfig loaded in this process (another cluster's): called by auth_settings(), it would put that cluster's
        # server and token in this configuration.
        configuration.refresh_api_key_hook = None
    from kubernetes.client import rest  # pylint: disable=import-outside-toplevel
    pool = rest.RESTClientObject(configuration).pool_manager
    headers = []
    for setting in configuration.auth_settings().values():
        if setting.get("in") == "header" and setting.get("value"):
            headers.append((setting["key"], setting["value"]))
    for header, value in impersonation_headers.items():
        headers.extend((header, item) for item in (value if isinstance(value, list) else [value]))
    host = configuration.host.rstrip("/")
    return Connection(host, headers, PoolSender(host, pool), False)


# --- requests -----------------------------------------------------------------------------------------------------


def _header_dict(pairs):
    """urllib3 headers from (name, value) pairs; a name may repeat (Impersonate-Group)."""
    from urllib3._collections import HTTPHeaderDict  # pylint: disable=import-outside-toplevel
    headers = HTTPHeaderDict()
    for name, value in pairs:
        headers.add(name, value)
    return headers


class KubeApi(object):
    """JSON requests to one cluster, with retries on transient errors, counting requests and writes and keeping the
    errors that were retried (``retried``)."""

    def __init__(self, connection, attempts=3, delay=3.0, timeout=30, sleep=time.sleep):
        self.connection = connection
        self.attempts = max(int(attempts), 1)
        self.delay = float(delay)
        self.timeout = timeout
        self.sleep = sleep
        self.requests = 0
        self.writes = 0
        self.retried = []
        self._resources = {}

    def request(self, method, path, query=None, body=None, content_type=None, allow=(), retry_conflict=False):
        """(status, document or None). Statuses in `allow` (e.g. 404) are returned, other errors raise ApiError."""
        url = path + ("?" + urlencode(query) if query else "")
        payload = None if body is None else json.dumps(body, separators=(",", ":")).encode("utf-8")
        last = None
        errors = transport_errors(self.connection.fast)
        for attempt in range(1, self.attempts + 1):
            self.requests += 1
            if method != "GET":
                self.writes += 1
            try:
                status, reason, data = self.connection.send(method, url, payload, content_type, self.timeout)
            except errors as exc:  # pylint: disable=catching-non-exception  # a tuple of exception classes
                last = ApiError(method, path, None, None, str(exc) or type(exc).__name__, attempt)
            else:
                if status < 400 or status in allow:
                    try:
                        return status, (json.loads(data) if data else None)
                    except ValueError as exc:
                        raise ApiError(method, path, status, reason, "invalid JSON in the answer: %s" % exc, attempt)
                last = ApiError(method, path, status, reason, status_message(data) or (data or b"")[:200].decode("utf-8", "replace"), attempt)
                if not (status in TRANSIENT_STATUS or (retry_conflict and status == 409)):
                    raise last
            if attempt < self.attempts:
                self.retried.append(last)
                self.sleep(self.delay)
        raise last

    def get(self, path, query=None):
        """The document at path, or None when it is not there (404)."""
        status, doc = self.request("GET", path, query, allow=(404,))
        return None if status == 404 else doc

    # --- resources ---

    def resource(self, api_version, kind, refresh=False):
        """(collection path prefix, plural, namespaced) of apiVersion/kind. Raises UnknownKind."""
        key = (api_version, kind)
        if key in BUILTIN_RESOURCES:
            plural, namespaced = BUILTIN_RESOURCES[key]
        else:
            if refresh or api_version not in self._resources:
                prefix = "/api/%s" % api_version if "/" not in api_version else "/apis/%s" % api_version
                doc = self.get(prefix)
                self._resources[api_version] = dict(
                    (res.get("kind"), (res.get("name"), bool(res.get("namespaced"))))
                    for res in (doc or {}).get("resources") or [] if "/" not in (res.get("name") or "/"))
            if kind not in self._resources[api_version]:
                raise UnknownKind("%s %s is not served by the cluster (its CustomResourceDefinition is missing or not established)" % (
                    api_version, kind))
            plural, namespaced = self._resources[api_version][kind]
        return ("/api/%s" % api_version if "/" not in api_version else "/apis/%s" % api_version), plural, namespaced

    def path(self, api_version, kind, name=None, namespace=None, refresh=False):
        """The path of an object (or of the collection when name is None)."""
        prefix, plural, namespaced = self.resource(api_version, kind, refresh)
        parts = [prefix]
        if namespaced:
            if not namespace:
                raise ValueError("%s %s needs a namespace" % (kind, name or ""))
            parts.append("namespaces/%s" % quote(namespace, safe=""))
        parts.append(plural)
        if name:
            parts.append(quote(name, safe=""))
        return "/".join(parts)

    def forget_kinds(self, api_version):
        """Forget what discovery said about api_version (a CRD was just applied)."""
        self._resources.pop(api_version, None)
