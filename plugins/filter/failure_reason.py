# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter failure_reason: one short line saying why a Kubernetes or Helm task failed."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
name: failure_reason
short_description: One short line saying why a Kubernetes or Helm task failed
version_added: 0.1.0
author:
  - meshops platform engineering (@meshops)
description:
  - Helm and kubectl print their error after many client-go log lines (C(E1129 06:42:44.331190 ... memcache.go:287] ...)),
    and kubernetes.core puts the API server's whole Status object into its message. This filter keeps what a person needs,
    for a summary of which cluster failed and why.
  - >-
    From C(stderr), client-go log lines are dropped and the text from the last line starting with C(Error:) is kept
    (Go's multi-line errors such as C(Error: 2 errors occurred:) followed by C(* ...) lines are joined).
  - >-
    Otherwise the C(msg) is used, with an API Status object reduced to its C(message), and the Kubernetes client's
    C((503\) Reason: ... HTTP response headers: ... HTTP response body: ...) reduced to its code, reason and body.
  - >-
    When the task ran with C(no_log) (the result carries C(_ansible_no_log)), no detail is returned, only the HTTP code and
    reason when the message has them: a registered result is not censored, and the details may hold secrets.
  - >-
    Errors that mislead are followed by a hint, for example kubernetes.core's C(Failed to find exact match for <kind>),
    which also appears when API discovery failed on a faulty API server, not only when a CRD is missing.
  - >-
    A kubernetes.core.helm result without a message whose C(status) is not C(deployed) (a task failed by C(failed_when)
    on a release whose last revision failed) says which release and revision are in which state.
  - Whitespace is collapsed and the result is cut to O(limit) characters.
options:
  _input:
    description: A failed task result (for example C(ansible_failed_result) in a rescue block).
    type: dict
    required: true
  limit:
    description: Maximum length of the returned line.
    type: int
    default: 300
"""

EXAMPLES = r"""
- name: Record why this cluster failed
  ansible.builtin.set_fact:
    failure: "{{ ansible_failed_task.name }}: {{ ansible_failed_result | meshops.ambient_spire.failure_reason }}"
"""

RETURN = r"""
_value:
  description: The reason, on one line.
  type: str
"""

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

CLIENT_GO_LOG_LINE = re.compile(r"^[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d+\s+\d+\s+\S+:\d+\]")
API_EXCEPTION = re.compile(r"\(?(\d{3})\)?\s*Reason:\s*([A-Za-z][A-Za-z ]*?)\s*(?:HTTP response headers:.*?)?(?:HTTP response body:\s*(.*))?$", re.S)
WRAPPERS = re.compile(r"^(?:(?:Task|Module|Action) failed:\s*)+")
RERUN_FORGETS = "run again once the API is healthy: the spire and gloo_operator roles forget such revisions of their releases"
HINTS = (
    ("Failed to find exact match for", "the API server did not list this kind: its CRD is missing, or API discovery failed (rerun once the API is healthy)"),
    ("another operation (install/upgrade/rollback) is in progress", "an interrupted Helm run left a pending revision; " + RERUN_FORGETS),
    ("has no deployed releases", "a failed install left its release record behind; " + RERUN_FORGETS),
)
TRACEBACK = re.compile(r"\s*Original traceback:.*$", re.S)
STATUS_MESSAGE = re.compile(r"""b?['"]?\{[^{}]*?"kind"\s*:\s*"Status".*?"message"\s*:\s*"((?:[^"\\]|\\.)*)".*\}['"]?""", re.S)


def _one_line(text):
    return " ".join(text.split())


def _release_state(result):
    release = result.get("status")
    if isinstance(release, dict) and release.get("name") and release.get("status"):
        return "Helm release %s (revision %s) is %s, not deployed (%s)" % (
            release["name"], release.get("revision", "?"), release["status"], RERUN_FORGETS)
    return ""


def failure_reason(result, limit=300):
    """The reason a task failed, on one line of at most `limit` characters."""
    if not isinstance(result, dict):
        raise AnsibleFilterError("failure_reason expects a task result dict, got %s" % type(result).__name__)
    if result.get("_ansible_no_log"):
        http = API_EXCEPTION.search(to_text(result.get("msg") or ""))
        return "details hidden by no_log" + (" (HTTP %s %s)" % (http.group(1), http.group(2)) if http else "")
    lines = [line for line in to_text(result.get("stderr") or "").splitlines() if line.strip() and not CLIENT_GO_LOG_LINE.match(line)]
    starts = [index for index, line in enumerate(lines) if line.startswith("Error:")]
    if starts:
        reason = " ".join(lines[starts[-1]:])
    else:
        reason = TRACEBACK.sub("", WRAPPERS.sub("", to_text(result.get("msg") or "")))
        reason = API_EXCEPTION.sub(lambda match: "HTTP %s %s: %s" % (match.group(1), match.group(2), match.group(3) or ""), reason)
        reason = STATUS_MESSAGE.sub(lambda match: match.group(1).replace('\\"', '"'), reason)
        reason = reason or " ".join(lines) or _release_state(result) or "failed"
    reason = _one_line(reason)
    hints = [hint for cue, hint in HINTS if cue in reason]
    if hints:
        reason = "%s (%s)" % (reason, "; ".join(hints))
    limit = int(limit)
    return reason if len(reason) <= limit else reason[:max(limit - 3, 1)].rstrip() + "..."


class FilterModule(object):
    """meshops.ambient_spire.failure_reason"""

    def filters(self):
        return {"failure_reason": failure_reason}
