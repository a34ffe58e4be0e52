# -*- coding: utf-8 -*-
"""The action plugins that run this collection's modules in the worker process (plugin_utils._in_process)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import pytest

from ansible_collections.meshops.ambient_spire.plugins.action import validate_inputs as validate_inputs_action
from ansible_collections.meshops.ambient_spire.plugins.module_utils._module_run import ModuleFailure
from ansible_collections.meshops.ambient_spire.plugins.plugin_utils._in_process import InProcessModuleAction

TOKEN = "s3cr3t-bearer-token"
LICENSE = "the-license-key"


class Task(object):
    def __init__(self, args, environment=None, check_mode=False):
        self.args = args
        self.environment = environment
        self.check_mode = check_mode
        self.diff = False
        self.async_val = 0
        self.action = "meshops.ambient_spire.test"


class Shell(object):
    tmpdir = "/tmp/not-used"


class Connection(object):
    def __init__(self, transport):
        self.transport = transport
        self._shell = Shell()


class PlayContext(object):
    become = False


class Templar(object):
    @staticmethod
    def template(value):
        return value


def action(cls, args, transport="local", environment=None, become=False):
    plugin = cls(Task(args, environment), Connection(transport), PlayContext(), None, Templar(), None)
    plugin._play_context.become = become  # pylint: disable=protected-access
    calls = []

    def execute_module(module_name=None, module_args=None, task_vars=None):
        calls.append((module_name, module_args))
        return {"changed": False, "ran": "as a module"}
    plugin._execute_module = execute_module  # pylint: disable=protected-access
    return plugin, calls


@pytest.fixture(autouse=True)
def own_environment(monkeypatch):
    """The plugin updates os.environ (it runs in a worker forked for one task): each test gets its own copy."""
    monkeypatch.setattr(os, "environ", dict((k, v) for k, v in os.environ.items() if not k.startswith("K8S_AUTH_")))


class Echo(InProcessModuleAction):
    """Returns what it was given, secrets included, or fails with them: the base must remove them."""

    MODULE = "meshops.ambient_spire.echo"
    here = True

    def argument_spec(self):
        return {"license": {"type": "str", "no_log": True}, "kubeconfig": {"type": "raw"}, "fail": {"type": "bool", "default": False}}

    def usable_here(self, params, environ):
        return self.here

    def execute(self, params, environ, warn):
        warn("read with %s" % params["license"])
        echoed = {"license": params["license"], "kubeconfig": params["kubeconfig"], "pid": os.getpid()}
        if params["fail"]:
            raise ModuleFailure("failed with %s and %s" % (params["license"], TOKEN), echoed=echoed)
        return {"changed": True, "echoed": echoed}


KUBECONFIG = {"users": [{"name": "u", "user": {"token": TOKEN}}], "clusters": [{"name": "c1"}]}


def test_runs_in_this_process_and_removes_no_log_values_and_kubeconfig_secrets():
    plugin, calls = action(Echo, {"license": LICENSE, "kubeconfig": KUBECONFIG})
    result = plugin.run(task_vars={})
    assert calls == [] and result["changed"] and result["echoed"]["pid"] == os.getpid()
    text = repr(result)
    assert LICENSE not in text and TOKEN not in text
    assert result["echoed"]["kubeconfig"]["clusters"] == [{"name": "c1"}]
    assert len(result["warnings"]) == 1 and LICENSE not in result["warnings"][0]
    assert result["invocation"]["module_args"]["fail"] is False


def test_the_module_gets_plain_values_not_ansible_tagged_ones():
    from ansible.template import trust_as_template  # pylint: disable=import-outside-toplevel
    seen = {}

    class Types(Echo):
        def execute(self, params, environ, warn):
            seen.update(params)
            return {}
    tagged = trust_as_template("a-license")
    assert type(tagged) is not str  # pylint: disable=unidiomatic-typecheck
    plugin, dummy = action(Types, {"license": tagged, "kubeconfig": {"n": 1.25}})
    plugin.run(task_vars={})
    assert type(seen["license"]) is str and type(seen["kubeconfig"]["n"]) is float  # pylint: disable=unidiomatic-typecheck


def test_a_failure_is_the_task_failure_with_its_result_and_no_secret():
    plugin, dummy = action(Echo, {"license": LICENSE, "kubeconfig": KUBECONFIG, "fail": True})
    result = plugin.run(task_vars={})
    assert result["failed"] and result["msg"].startswith("failed with") and "echoed" in result
    assert LICENSE not in repr(result) and TOKEN not in repr(result)
    assert result["changed"] is False


@pytest.mark.parametrize("transport, become, here", [("ssh", False, True), ("local", True, True), ("local", False, False)])
def test_runs_as_a_module_off_the_controller_with_become_or_without_what_it_needs(transport, become, here):
    Echo.here = here
    try:
        plugin, calls = action(Echo, {"license": LICENSE}, transport=transport, become=become)
        assert plugin.run(task_vars={}) == {"changed": False, "ran": "as a module"}
    finally:
        Echo.here = True
    assert calls == [("meshops.ambient_spire.echo", {"license": LICENSE})]


def test_bad_arguments_fail_as_the_module_fails_before_anything_runs_without_their_secrets():
    plugin, calls = action(Echo, {"unknown": 1, "license": LICENSE, "kubeconfig": KUBECONFIG})
    result = plugin.run(task_vars={})
    assert calls == [] and result["failed"] and result["msg"].startswith("Unsupported parameters for (echo) module: unknown")
    assert result["invocation"]["module_args"]["unknown"] == 1
    assert LICENSE not in repr(result) and TOKEN not in repr(result)
    result = action(Echo, {"fail": "maybe", "license": LICENSE})[0].run(task_vars={})
    assert result["failed"] and "fail" in result["msg"] and LICENSE not in repr(result)


def test_validate_inputs_sees_the_task_environment_as_the_module_would():
    clusters = [{"host": "c1", "kube_context": "c1"}, {"host": "c2", "kube_context": "c2"}]
    plugin, calls = action(validate_inputs_action.ActionModule, {"clusters": clusters})
    assert plugin.run(task_vars={})["clusters"][1]["cluster_name"] == "c2"
    plugin, calls = action(validate_inputs_action.ActionModule, {"clusters": clusters}, environment=[{"K8S_AUTH_HOST": "https://one"}])
    result = plugin.run(task_vars={})
    assert calls == [] and result["failed"] and "K8S_AUTH_HOST" in result["msg"] and "https://one" not in result["msg"]


def test_the_implementation_module_gets_its_own_argument_spec_check_mode_and_warnings():
    seen = []

    class Implementation(object):
        @staticmethod
        def argument_spec():
            return {"count": {"type": "int", "required": True}}

        @staticmethod
        def execute(params, check_mode=False, warn=None):
            seen.append((params["count"], check_mode))
            warn("counted")
            return {"changed": not check_mode}

    class Counter(InProcessModuleAction):
        MODULE = "meshops.ambient_spire.counter"
        IMPLEMENTATION = Implementation

    plugin, calls = action(Counter, {"count": "3"})
    plugin._task.check_mode = True  # pylint: disable=protected-access
    result = plugin.run(task_vars={})
    assert calls == [] and seen == [(3, True)] and result["changed"] is False and result["warnings"] == ["counted"]
    result = action(Counter, {})[0].run(task_vars={})
    assert result["failed"] and "count" in result["msg"] and seen == [(3, True)]


def test_bad_arguments_of_k8s_apply_leave_out_the_data_of_its_secrets():
    from ansible_collections.meshops.ambient_spire.plugins.action import k8s_apply as k8s_apply_action  # pylint: disable=import-outside-toplevel
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cacerts", "namespace": "istio-system"},
              "data": {"ca-key.pem": "LS0tLS1CRUdJTi1rZXk="}, "stringData": "not a dict"}
    plugin, calls = action(k8s_apply_action.ActionModule, {"definitions": [secret], "unknown": 1, "kubeconfig": KUBECONFIG})
    result = plugin.run(task_vars={})
    assert calls == [] and result["failed"] and "unknown" in result["msg"]
    assert "LS0tLS1CRUdJTi1rZXk=" not in repr(result) and TOKEN not in repr(result)
