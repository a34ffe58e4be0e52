# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import os
import sys

import pytest
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from k8s_fake import FakeCluster, api  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _k8s_client, _k8s_rest  # noqa: E402

CA = base64.b64encode(b"not a real CA").decode()


def kubeconfig(user=None, cluster=None, contexts=None):
    first = dict({"server": "https://127.0.0.1:6443/", "certificate-authority-data": CA}, **(cluster or {}))
    return {"apiVersion": "v1", "kind": "Config", "current-context": "c1",
            "clusters": [{"name": "c1", "cluster": dict((key, value) for key, value in first.items() if value is not None)},
                         {"name": "c2", "cluster": {"server": "https://10.0.0.2:6443", "insecure-skip-tls-verify": True}}],
            "users": [{"name": "u1", "user": user if user is not None else {"token": "t0k3n"}}, {"name": "u2", "user": {"token": "two"}}],
            "contexts": contexts or [{"name": "c1", "context": {"cluster": "c1", "user": "u1"}},
                                     {"name": "c2", "context": {"cluster": "c2", "user": "u2"}}]}


@pytest.fixture
def env(monkeypatch):
    for name in list(os.environ):
        if name.startswith("K8S_AUTH_") or name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)
    return {}


def settings(params, env):
    auth, impersonation = _k8s_rest.auth_from_params(params, env)
    return _k8s_rest.plain_kubeconfig(auth, impersonation, env)


def test_the_task_wins_over_the_environment_which_fills_the_rest(env):
    auth, impersonation = _k8s_rest.auth_from_params({"kubeconfig": "/task", "context": None, "validate_certs": None},
                                                     {"K8S_AUTH_KUBECONFIG": "/env", "K8S_AUTH_CONTEXT": "envctx", "K8S_AUTH_VERIFY_SSL": "no",
                                                      "K8S_AUTH_IMPERSONATE_GROUPS": "g1,g2"})
    assert auth["kubeconfig"] == "/task" and auth["context"] == "envctx" and auth["verify_ssl"] is False
    assert impersonation == {"Impersonate-Group": ["g1", "g2"]}


def test_fast_path_for_a_kubeconfig_with_a_token_or_a_client_certificate(env, tmp_path):
    path = tmp_path / "kc"
    path.write_text(yaml.safe_dump(kubeconfig()))
    found = settings({"kubeconfig": str(path)}, env)
    assert found["server"] == "https://127.0.0.1:6443" and found["token"] == "t0k3n" and found["verify"] is True
    assert found["ca_data"] == b"not a real CA" and found["cert"] is None
    found = settings({"kubeconfig": str(path), "context": "c2"}, env)
    assert found["server"] == "https://10.0.0.2:6443" and found["verify"] is False and found["token"] == "two"
    found = settings({"kubeconfig": kubeconfig(user={"client-certificate": "crt.pem", "client-key-data": CA})}, env)
    assert found["cert_file"] == "crt.pem" and found["key"] == b"not a real CA" and found["token"] is None
    path.write_text(yaml.safe_dump(kubeconfig(cluster={"certificate-authority": "ca.pem", "certificate-authority-data": None},
                                              user={"client-certificate": "crt.pem", "client-key": "/abs/key"})))
    found = settings({"kubeconfig": str(path)}, env)
    assert found["ca_file"] == str(tmp_path / "ca.pem") and found["cert_file"] == str(tmp_path / "crt.pem") and found["key_file"] == "/abs/key"


@pytest.mark.parametrize("params,environ,config", [
    ({"kubeconfig": "KC", "host": "https://h"}, {}, None),  # any other auth option
    ({"kubeconfig": "KC", "impersonate_user": "auditor"}, {}, None),
    ({"kubeconfig": "KC"}, {"K8S_AUTH_API_KEY": "k"}, None),  # from the environment too
    ({"kubeconfig": "KC"}, {"HTTPS_PROXY": "http://proxy:3128"}, None),  # a proxy applies
    ({"kubeconfig": "KC"}, {}, kubeconfig(user={"exec": {"command": "aws"}})),  # exec and auth-provider plugins
    ({"kubeconfig": "KC"}, {}, kubeconfig(user={"username": "u", "password": "p"})),
    ({"kubeconfig": "KC"}, {}, kubeconfig(cluster={"tls-server-name": "api"})),
    ({"kubeconfig": "KC"}, {}, kubeconfig(user={"client-certificate-data": CA})),  # a certificate without its key
    ({"kubeconfig": "KC", "context": "nope"}, {}, None),  # kubernetes.core says what is wrong
    ({"kubeconfig": "KC:KC2"}, {}, None),  # a list of files is merged by the kubernetes client
    ({}, {}, None),  # in-cluster, then the default kubeconfig
    ({"context": "c1"}, {}, None),
])
def test_everything_else_goes_through_kubernetes_core(env, tmp_path, monkeypatch, params, environ, config):
    path = tmp_path / "kc"
    path.write_text(yaml.safe_dump(config or kubeconfig()))
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    params = dict((key, value.replace("KC", str(path)) if key == "kubeconfig" else value) for key, value in params.items())
    assert settings(params, dict(os.environ)) is None


def test_connect_on_the_fast_path_does_not_import_the_kubernetes_client(env, tmp_path):
    path = tmp_path / "kc"
    path.write_text(yaml.safe_dump(kubeconfig(cluster={"insecure-skip-tls-verify": True, "certificate-authority-data": None})))
    connection = _k8s_rest.connect({"kubeconfig": str(path)})
    assert connection.fast and connection.host == "https://127.0.0.1:6443" and connection.headers == [("Authorization", "Bearer t0k3n")]


def test_connect_otherwise_uses_kubernetes_cores_configuration(env):
    connection = _k8s_rest.connect({"host": "https://h:6443/", "api_key": "k", "validate_certs": False, "impersonate_groups": ["a", "b"]})
    assert not connection.fast and connection.host == "https://h:6443"
    assert ("authorization", "Bearer k") in connection.headers and ("Impersonate-Group", "a") in connection.headers
    with pytest.raises(_k8s_client.K8sClientError, match="could not load kubeconfig"):
        _k8s_rest.connect({"kubeconfig": "/does/not/exist", "context": "x"})


def test_resources_builtin_and_discovered():
    cluster = FakeCluster({"gateway.networking.k8s.io/v1": {"Gateway": ("gateways", True)}})
    kube = api(cluster)
    assert kube.path("v1", "Namespace", "a") == "/api/v1/namespaces/a"
    assert kube.path("v1", "Secret", "s", "ns") == "/api/v1/namespaces/ns/secrets/s"
    assert kube.path("gateway.networking.k8s.io/v1", "Gateway", "g", "n") == "/apis/gateway.networking.k8s.io/v1/namespaces/n/gateways/g"
    assert kube.path("gateway.networking.k8s.io/v1", "Gateway", None, "n") == "/apis/gateway.networking.k8s.io/v1/namespaces/n/gateways"
    assert cluster.log == [("GET", "/apis/gateway.networking.k8s.io/v1")]  # the built-in kinds need no discovery, the others once
    with pytest.raises(_k8s_rest.UnknownKind):
        kube.path("operator.gloo.solo.io/v1", "ServiceMeshController", "m")
    with pytest.raises(ValueError):
        kube.path("v1", "Secret", "s")


def test_a_kept_alive_connection_closed_by_the_server_is_reopened_at_once(monkeypatch):
    calls = []

    class Connection(object):
        def __init__(self, *args, **kwargs):
            self.number = len(calls)

        def request(self, method, path, body=None, headers=None):
            calls.append((self.number, path))
            if len(calls) == 2:
                raise ConnectionResetError("reset")

        def getresponse(self):
            class Response(object):
                status, reason, will_close = 200, "OK", False

                @staticmethod
                def read():
                    return b"{}"
            return Response()

        def close(self):
            pass

    monkeypatch.setattr(_k8s_rest, "HTTPSConnection", Connection)
    sender = _k8s_rest.FastSender("https://127.0.0.1:6443/base", None)
    assert sender.send("GET", "/api", None, {}, 5)[0] == 200
    assert sender.send("GET", "/api", None, {}, 5)[0] == 200  # the second request's connection was reset: a new one
    assert calls == [(0, "/base/api"), (0, "/base/api"), (2, "/base/api")]


def test_host_and_token_are_not_replaced_by_the_last_kubeconfig_loaded_in_the_process(env, tmp_path):
    """kubernetes.core copies the process-wide default configuration, with the token refresh hook of the last kubeconfig
    loaded: a cluster given by host and api_key must keep its own server and token (regression)."""
    path = tmp_path / "kc"
    path.write_text(yaml.safe_dump(kubeconfig(user={"token": "other-cluster-token"}, cluster={"server": "https://10.9.9.9:6443"},
                                              contexts=[{"name": "c1", "context": {"cluster": "c1", "user": "u1"}}])))
    _k8s_client.create_configuration({"kubeconfig": str(path), "context": "c1"})
    connection = _k8s_rest.connect({"host": "https://h:6443", "api_key": "mine", "validate_certs": False})
    assert connection.host == "https://h:6443" and connection.headers == [("authorization", "Bearer mine")]
