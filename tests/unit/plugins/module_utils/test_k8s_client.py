# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import sys
import threading

import pytest
import yaml
from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _k8s_client as client_mod

KUBECONFIG = {"apiVersion": "v1", "kind": "Config", "current-context": "a",
              "clusters": [{"name": "a", "cluster": {"server": "https://127.0.0.1:1", "certificate-authority-data": "Q0E="}}],
              "users": [{"name": "a", "user": {"token": "s3cr3t", "auth-provider": {"config": {
                  "access-token": "acc3ss", "refresh-token": "r3fresh", "secret": "s3cret-2"}}}}],
              "contexts": [{"name": "a", "context": {"cluster": "a", "user": "a"}}]}


@pytest.fixture
def no_auth_env(monkeypatch):
    import os
    for name in list(os.environ):
        if name.startswith("K8S_AUTH_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_the_options_are_kubernetes_cores():
    spec = client_mod.auth_argument_spec()
    assert set(spec) == set(AUTH_ARG_SPEC) >= {"impersonate_user", "impersonate_groups", "no_proxy", "proxy_headers", "persist_config"}
    assert spec["api_key"]["no_log"] and spec["password"]["no_log"] and spec["proxy_headers"]["options"]["proxy_basic_auth"]["no_log"]
    assert spec["kubeconfig"]["no_log"] is False and AUTH_ARG_SPEC["kubeconfig"]["no_log"] is True  # a copy: kubernetes.core's untouched


def test_environment_fills_what_the_task_does_not_set(no_auth_env, tmp_path):
    path = tmp_path / "kc"
    path.write_text(yaml.safe_dump(dict(KUBECONFIG, contexts=KUBECONFIG["contexts"] + [{"name": "envctx", "context": {"cluster": "a", "user": "a"}}])))
    no_auth_env.setenv("K8S_AUTH_CONTEXT", "envctx")
    no_auth_env.setenv("K8S_AUTH_VERIFY_SSL", "no")
    no_auth_env.setenv("K8S_AUTH_KUBECONFIG", "/x")
    no_auth_env.setenv("K8S_AUTH_IMPERSONATE_GROUPS", "g1,g2")
    conf, headers = client_mod.create_configuration({"context": None, "kubeconfig": str(path)})  # the task's kubeconfig wins over /x
    assert conf.host == "https://127.0.0.1:1" and conf.verify_ssl is False
    assert headers == {"Impersonate-Group": ["g1", "g2"]}


def test_host_and_a_credential_load_no_kubeconfig(no_auth_env, tmp_path):
    no_auth_env.setenv("KUBECONFIG", str(tmp_path / "missing"))
    conf, headers = client_mod.create_configuration({"host": "https://h:6443/", "api_key": "tok", "validate_certs": False,
                                                     "no_proxy": "10.0.0.0/8", "proxy": "http://p:3128",
                                                     "proxy_headers": {"proxy_basic_auth": "u:p", "user_agent": "mesh/1"}})
    assert conf.host == "https://h:6443" and conf.api_key == {"authorization": "Bearer tok"} and conf.verify_ssl is False
    assert conf.no_proxy == "10.0.0.0/8" and conf.proxy == "http://p:3128" and headers == {}
    assert conf.proxy_headers["user-agent"] == "mesh/1" and conf.proxy_headers["proxy-authorization"].startswith("Basic ")
    with pytest.raises(client_mod.K8sClientError):  # a host alone is no credential: the (missing) kubeconfig is loaded
        client_mod.create_configuration({"host": "https://h:6443"})


def test_a_bad_kubeconfig_names_the_file_and_the_context(no_auth_env, tmp_path):
    with pytest.raises(client_mod.K8sClientError) as exc:
        client_mod.create_configuration({"kubeconfig": str(tmp_path / "missing"), "context": "nope"})
    assert str(exc.value).startswith("could not load kubeconfig %s (context nope): " % (tmp_path / "missing"))
    with pytest.raises(client_mod.K8sClientError) as exc:
        client_mod.create_configuration({"kubeconfig": KUBECONFIG, "context": "nope"})
    assert str(exc.value).startswith("could not load kubeconfig (dict) (context nope): ") and "s3cr3t" not in str(exc.value)


def test_kubeconfig_dict_and_impersonation_headers(no_auth_env):
    api = client_mod.create_api_client({"kubeconfig": KUBECONFIG, "impersonate_user": "auditor", "impersonate_groups": ["r1", "r2"]})
    assert api.configuration.host == "https://127.0.0.1:1"
    assert api.default_headers["Impersonate-User"] == "auditor"
    assert sorted(v for k, v in api.default_headers.items() if str(k) == "Impersonate-Group") == ["r1", "r2"]
    assert not hasattr(api, "resources")  # a plain ApiClient: no discovery requests, no discovery cache file


def test_sensitive_values_are_found_at_any_depth():
    params = {"clusters": [{"name": "a", "kubeconfig": KUBECONFIG, "api_key": "k3y", "password": "", "context": "a",
                            "proxy_headers": {"proxy_basic_auth": "u:pw", "user_agent": "ua"}}], "api_key": None, "checks": ["token"]}
    assert client_mod.sensitive_values(params) == {"s3cr3t", "Q0E=", "acc3ss", "r3fresh", "s3cret-2", "k3y", "u:pw"}


def test_exec_plugin_environment_values_are_sensitive():
    kubeconfig = {"users": [{"name": "eks", "user": {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws", "args": ["eks", "get-token"],
        "env": [{"name": "AWS_SECRET_ACCESS_KEY", "value": "aws-s3cr3t"}, {"name": "AWS_PROFILE", "value": "prod"}, "junk"]}}}]}
    # AWS_PROFILE is no secret: masking "prod" would mask that word in every output
    assert client_mod.sensitive_values({"kubeconfig": kubeconfig}) == {"aws-s3cr3t"}
    assert client_mod.sensitive_values({"kubeconfig": {"users": [{"user": {"exec": {"env": None}}}]}}) == set()


def test_clusters_configured_in_parallel_threads_each_get_their_own(no_auth_env, tmp_path):
    """kubernetes.config loads into a process-wide default: without the lock, threads copy each other's (regression)."""
    kubeconfig = {"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": []}
    for i in range(12):
        kubeconfig["clusters"].append({"name": "c%d" % i, "cluster": {"server": "https://10.0.0.%d:6443" % i}})
        kubeconfig["users"].append({"name": "u%d" % i, "user": {"token": "t%d" % i}})
        kubeconfig["contexts"].append({"name": "c%d" % i, "context": {"cluster": "c%d" % i, "user": "u%d" % i}})
    path = tmp_path / "kc"
    path.write_text(yaml.safe_dump(kubeconfig))
    wrong = []

    def one(i):
        conf = client_mod.create_configuration({"kubeconfig": str(path), "context": "c%d" % i})[0]
        if conf.host != "https://10.0.0.%d:6443" % i or conf.api_key != {"BearerToken": "Bearer t%d" % i}:
            wrong.append(i)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        for dummy in range(5):
            threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert wrong == []
