# -*- coding: utf-8 -*-
"""Secrets never appear at -vvv, on any early failure: each failure path of the modules that take a connection (or a key)
runs through ansible-playbook -vvv with a kubeconfig given inline as a dict that carries a bearer token and the other
secret kubeconfig keys. Every case must fail with its own message, and the output must hold no secret. No cluster is
needed: every case fails before (or at) connecting; the one that connects gets a refused connection."""

from __future__ import absolute_import, division, print_function

import json
import os
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")

SECRETS = {"token": "tok-7c1e-NEVER-PRINTED", "access-token": "acc-2b9d-NEVER-PRINTED", "refresh-token": "ref-5a0f-NEVER-PRINTED",
           "secret": "sec-8e4c-NEVER-PRINTED", "client-key-data": "a2V5LWRhdGEtTkVWRVItUFJJTlRFRA==", "password": "pw-3d6b-NEVER-PRINTED"}
API_KEY = "api-6f2a-NEVER-PRINTED"
PROXY_AUTH = "proxyuser:px-9b1d-NEVER-PRINTED"
KEY_PEM = "-----BEGIN PRIVATE KEY-----\nTUlJRXZRSUJBREFOQmdrcWhraUc5dzBCQVFFRkFBU0NCS2N3Z2dTakFnRUFBb0lCQVFE\n-----END PRIVATE KEY-----\n"

KUBECONFIG = {
    "apiVersion": "v1", "kind": "Config", "current-context": "cluster1",
    "clusters": [{"name": "cluster1", "cluster": {"server": "https://127.0.0.1:9", "insecure-skip-tls-verify": True}}],
    "users": [
        {"name": "admin", "user": {"token": SECRETS["token"], "client-key-data": SECRETS["client-key-data"], "password": SECRETS["password"]}},
        {"name": "oidc", "user": {"auth-provider": {"name": "oidc", "config": {
            "access-token": SECRETS["access-token"], "refresh-token": SECRETS["refresh-token"], "secret": SECRETS["secret"]}}}}],
    "contexts": [{"name": "cluster1", "context": {"cluster": "cluster1", "user": "admin"}},
                 {"name": "cluster2", "context": {"cluster": "cluster1", "user": "admin"}}],
}


def cluster(name, **extra):
    return dict({"name": name, "kubeconfig": "{{ inline_kubeconfig }}", "context": "cluster1"}, **extra)


# (task name, module, arguments, a fragment of the failure message)
CASES = [
    ("unknown check id", "mesh_check", {"clusters": [cluster("h1")], "checks": ["nope"]}, "unknown check ids nope"),
    ("duplicate cluster name", "mesh_check", {"clusters": [cluster("h1"), cluster("h1", context="cluster2")]},
     "clusters: every name must be unique"),
    ("missing context", "mesh_check", {"clusters": [cluster("h1"), cluster("h2", context=None)]}, "clusters h2: no context and no host."),
    ("unknown context", "mesh_check", {"clusters": [cluster("h1", context="nope")]}, "could not load kubeconfig (dict) (context nope)"),
    ("unreadable kubeconfig", "mesh_check",
     {"clusters": [cluster("h1", kubeconfig="/nonexistent/kubeconfig"), cluster("h2", context="cluster2", api_key=API_KEY)]},
     "could not load kubeconfig /nonexistent/kubeconfig"),
    ("unreachable cluster", "mesh_check", {"clusters": [cluster("h1", proxy_headers={"proxy_basic_auth": PROXY_AUTH})], "request_timeout": 2,
                                           "license_check": False}, "no cluster could be read: cluster cluster1: GET /api/v1/namespaces failed"),
    ("unsupported option", "mesh_check", {"clusters": [cluster("h1", bogus=1)]}, "Unsupported parameters"),
    ("wrong type", "mesh_check", {"clusters": [cluster("h1", password=SECRETS["password"])], "warning_days": "many"}, "warning_days"),
    ("unreadable root bundle", "mesh_check", {"clusters": [cluster("h1")], "root_ca_bundle": "/nonexistent/root.pem"},
     "cannot read root_ca_bundle /nonexistent/root.pem"),
    ("snapshot of an unknown context", "mesh_snapshot_info", {"kubeconfig": "{{ inline_kubeconfig }}", "context": "nope"},
     "could not load kubeconfig (dict) (context nope)"),
    ("snapshot with an unsupported option", "mesh_snapshot_info", {"kubeconfig": "{{ inline_kubeconfig }}", "snapshot_file": "/tmp/x.json"},
     "Unsupported parameters"),
    ("snapshot of an unreachable cluster", "mesh_snapshot_info", {"kubeconfig": "{{ inline_kubeconfig }}", "context": "cluster1",
                                                                  "request_timeout": 2, "license_check": False},
     "cluster cluster1: GET /api/v1/namespaces failed"),
    ("chains with a duplicate cluster name", "cert_chain_check",
     {"clusters": [{"name": "c1", "root_pem": "x", "ca_cert_pem": "y", "key_pem": KEY_PEM}] * 2}, "duplicate name(s) c1"),
    ("chains with a missing root", "cert_chain_check", {"clusters": [{"name": "c1", "ca_cert_pem": "y", "key_pem": KEY_PEM}]},
     "one of the following is required: root_pem, root_path"),
    ("inputs with a bad network", "validate_inputs",
     {"clusters": [{"host": "h1", "kube_context": "cluster1", "kubeconfig_path": "{{ inline_kubeconfig }}", "network": "Net_1"}]},
     "h1"),
]


# (task name, role variables, a fragment of the failure message): the mesh_check role with the kubeconfig dict as its connection
ROLE_CASES = [
    ("role with a bad argument", {"mesh_check_warning_days": "many"}, "mesh_check_warning_days"),
    ("role on an unreachable cluster", {"mesh_check_quiet": False, "mesh_check_reports_dir": "", "mesh_check_api_retries": 0},
     "cluster localhost: GET /api/v1/namespaces failed"),
]


def _playbook():
    tasks = []
    for name, module, args, dummy in CASES:
        tasks.append({"name": "Case %s" % name, "block": [{"name": "Run %s" % name, "meshops.ambient_spire.%s" % module: args}],
                      "rescue": [{"name": "Record %s" % name, "ansible.builtin.set_fact": {"failed_cases": "{{ failed_cases + [%s] }}" % json.dumps(name)}}]})
    for name, role_vars, dummy in ROLE_CASES:
        role_vars = dict(role_vars, mesh_check_connection={"kubeconfig": "{{ inline_kubeconfig }}", "context": "cluster1"})
        tasks.append({"name": "Case %s" % name, "block": [{"name": "Run %s" % name, "ansible.builtin.include_role": {
            "name": "meshops.ambient_spire.mesh_check"}, "vars": role_vars}],
            "rescue": [{"name": "Record %s" % name, "ansible.builtin.set_fact": {"failed_cases": "{{ failed_cases + [%s] }}" % json.dumps(name)}}]})
    tasks.append({"name": "Every case failed", "ansible.builtin.debug": {"msg": "FAILED CASES {{ failed_cases | to_json }}"}})
    return [{"name": "Early failures", "hosts": "localhost", "gather_facts": False,
             "vars": {"inline_kubeconfig": KUBECONFIG, "failed_cases": []}, "tasks": tasks}]


def test_no_secret_at_vvv_on_any_early_failure(tmp_path):
    playbook = tmp_path / "early_failures.yml"
    playbook.write_text(yaml.safe_dump(_playbook(), sort_keys=False))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", TMPDIR=str(tmp_path))
    for name in [n for n in env if n.startswith("K8S_AUTH_")]:
        del env[name]
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(playbook), "-i", "localhost,", "-c", "local",
                           "-e", "ansible_python_interpreter=%s" % sys.executable, "-vvv"],
                          env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=600, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    assert "FAILED CASES %s" % json.dumps([c[0] for c in CASES] + [c[0] for c in ROLE_CASES]) in output.replace('\\"', '"'), output[-4000:]
    for name, dummy, dummy2, fragment in CASES:
        block = output[output.index("TASK [Run %s]" % name):output.index("TASK [Record %s]" % name)]
        assert fragment in block, (name, block[-3000:])
        assert '"module_args"' in block, (name, "the invocation is printed at -vvv: the masking is what is tested")
    for name, dummy, fragment in ROLE_CASES:
        block = output[output.index("TASK [Run %s]" % name):output.index("TASK [Record %s]" % name)]
        assert fragment in block, (name, block[-3000:])
    leaked = [key for key, value in SECRETS.items() if value in output]
    leaked += [what for what, value in (("api_key", API_KEY), ("proxy credentials", PROXY_AUTH), ("private key", KEY_PEM.splitlines()[1]))
               if value in output]
    assert not leaked, "secrets in the -vvv output: %s" % leaked
    assert "cluster1" in output  # the names are not masked, only the secrets
