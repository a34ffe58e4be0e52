# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.meshops.ambient_spire.plugins.filter.failure_reason import RERUN_FORGETS, failure_reason

HELM_STDERR = (
    'E1129 06:42:44.331190   18020 memcache.go:287] "Unhandled Error" err="couldn\'t get resource list for policy/v1: emulated fault"'
    ' logger="UnhandledError"\n'
    'E1129 06:42:44.335152   18020 memcache.go:287] "Unhandled Error" err="couldn\'t get resource list for coordination.k8s.io/v1"\n'
    "Error: list: failed to list: the server is currently unable to handle the request\n")

GO_MULTI_ERROR = (
    "W1129 07:01:02.000001    4242 warnings.go:70] unknown field \"spec.foo\"\n"
    "Error: 2 errors occurred:\n"
    "\t* Deployment spire-server/spire-controller: the server is currently unable to handle the request\n"
    "\t* DaemonSet spire-server/spire-agent: connection reset by peer\n\n")

K8S_MSG = ("Failed to create object: b'{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
           "\"message\":\"emulated fault: the server is currently unable to handle the request\",\"reason\":\"ServiceUnavailable\","
           "\"code\":503}'")


@pytest.mark.parametrize("result,expected", [
    ({"msg": "Failure when executing Helm command. Exited 1.", "stderr": HELM_STDERR},
     "Error: list: failed to list: the server is currently unable to handle the request"),
    ({"msg": "Failure when executing Helm command. Exited 1.", "stderr": GO_MULTI_ERROR},
     "Error: 2 errors occurred: * Deployment spire-server/spire-controller: the server is currently unable to handle the request "
     "* DaemonSet spire-server/spire-agent: connection reset by peer"),
    ({"msg": K8S_MSG}, "Failed to create object: emulated fault: the server is currently unable to handle the request"),
    ({"msg": "Failed to get client due to HTTPSConnectionPool(host='127.0.0.1', port=1): Max retries exceeded\n  (Caused by ...)"},
     "Failed to get client due to HTTPSConnectionPool(host='127.0.0.1', port=1): Max retries exceeded (Caused by ...)"),
    ({"msg": "", "stderr": "plain text on stderr\n"}, "plain text on stderr"),
    ({"changed": False, "status": {"name": "spire", "namespace": "spire-server", "revision": "2", "status": "failed"}},
     "Helm release spire (revision 2) is failed, not deployed (" + RERUN_FORGETS + ")"),
    ({"msg": "Failure when executing Helm command. Exited 1.", "stderr": 'Error: UPGRADE FAILED: "spire" has no deployed releases\n'},
     'Error: UPGRADE FAILED: "spire" has no deployed releases (a failed install left its release record behind; ' + RERUN_FORGETS + ")"),
    ({"msg": "Failure when executing Helm command. Exited 1.",
      "stderr": "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress\n"},
     "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress "
     "(an interrupted Helm run left a pending revision; " + RERUN_FORGETS + ")"),
    ({"status": "not a release"}, "failed"),
    ({}, "failed"),
])
def test_reason_is_the_error_on_one_line(result, expected):
    assert failure_reason(result) == expected


def test_the_last_error_wins_and_the_client_log_is_dropped():
    stderr = "Error: first attempt\nE1129 06:42:44.331190   18020 memcache.go:287] noise\nError: the final error\n"
    assert failure_reason({"stderr": stderr}) == "Error: the final error"


def test_long_reasons_are_cut_to_the_limit():
    reason = failure_reason({"msg": "x " * 400}, limit=50)
    assert len(reason) == 50 and reason.endswith("...")
    assert failure_reason({"msg": "short"}, limit=50) == "short"


def test_rejects_what_is_not_a_result():
    with pytest.raises(AnsibleFilterError, match="task result dict"):
        failure_reason("boom")


API_EXCEPTION_MSG = (
    "Task failed: Module failed: Failed to retrieve requested object: (503)\nReason: Service Unavailable\n"
    "HTTP response headers: HTTPHeaderDict({'Content-Type': 'text/plain; charset=utf-8', 'Date': 'Sun, 29 Nov 2026 07:04:11 GMT'})\n"
    "HTTP response body: emulated fault: the server is currently unable to handle the request\n")


def test_kubernetes_client_exceptions_keep_code_reason_and_body():
    assert failure_reason({"msg": API_EXCEPTION_MSG}) == (
        "Failed to retrieve requested object: HTTP 503 Service Unavailable: emulated fault: the server is currently unable to handle the request")


def test_kubernetes_client_exception_with_a_status_body():
    msg = ("Failed to patch object: (409)\nReason: Conflict\nHTTP response headers: HTTPHeaderDict({'Content-Type': 'application/json'})\n"
           'HTTP response body: {"kind":"Status","apiVersion":"v1","status":"Failure","message":"the object has been modified","code":409}\n')
    assert failure_reason({"msg": msg}) == "Failed to patch object: HTTP 409 Conflict: the object has been modified"


def test_no_log_results_give_no_detail():
    secret = "SECRET-LICENSE-KEY"
    assert failure_reason({"msg": API_EXCEPTION_MSG + secret, "stderr": "Error: " + secret, "_ansible_no_log": True}) == (
        "details hidden by no_log (HTTP 503 Service Unavailable)")
    assert failure_reason({"msg": "Failed to create object: " + secret, "_ansible_no_log": True}) == "details hidden by no_log"


DYNAMIC_CLIENT_MSG = (
    'Task failed: Module failed: 503\n'
    'Reason: Service Unavailable\n'
    "HTTP response headers: HTTPHeaderDict({'Content-Type': 'application/json', 'Content-Length': '203', 'Date': 'S"
    "un, 29 Nov 2026 07:11:29 GMT', 'Server': 'Python/3.11 aiohttp/3.14.5'})\n"
    'HTTP response body: {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "em'
    'ulated fault: the server is currently unable to handle the request", "reason": "ServiceUnavailable", "code": 5'
    '03}\n'
    'Original traceback: \n'
    '  File "/venv/lib/python3.11/site-packages/kubernetes/dynamic/client.py", line 54, in inner\n'
    '    resp = func(self, *args, **kwargs)\n'
    '           ^^^^^^^^^^^^^^^^^^^^^^^^^^^\n'
    '\n'
    '  File "/venv/lib/python3.11/site-packages/kubernetes/dynamic/client.py", line 307, in request\n'
    '    self.client.response_deserialize(api_response, {})\n'
    '\n'
    '  File "/venv/lib/python3.11/site-packages/kubernetes/client/api_client.py", line 432, in response_deserialize'
    '\n'
    '    raise ApiException.from_response(\n'
    '          ^^^^^^^^^^^^^^^^^^^^^^^^^^^\n'
    '\n'
    '  File "/venv/lib/python3.11/site-packages/kubernetes/client/exceptions.py", line 160, in from_response\n'
    '    raise ServiceException(http_resp=http_resp, body=body, data=data)')


def test_dynamic_client_exceptions_drop_headers_and_traceback():
    assert failure_reason({"msg": DYNAMIC_CLIENT_MSG}) == (
        "HTTP 503 Service Unavailable: emulated fault: the server is currently unable to handle the request")


def test_misleading_errors_get_a_hint():
    msg = "Failed to find exact match for operator.gloo.solo.io/v1.ServiceMeshController by [kind, name, singularName, shortNames]"
    hint = " (the API server did not list this kind: its CRD is missing, or API discovery failed (rerun once the API is healthy))"
    assert failure_reason({"msg": msg}) == msg + hint
