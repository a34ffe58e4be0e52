# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes versions the pinned SPIRE chart and the Istio releases support. PRIVATE to the collection.

Istio: the "Supported Kubernetes Versions" column of the table "Support status of Istio releases" on
https://istio.io/latest/docs/releases/supported-releases/#support-status-of-istio-releases (one range per minor release,
inclusive). Solo's distribution follows the upstream minor releases (``1.27.3-patch0`` is Istio 1.27); Solo's own table
(https://docs.solo.io/gloo-mesh-gateway/main/reference/version/istio/versions/) lists the same or narrower ranges, so a version inside
the upstream range may still be outside Solo's tested one for some releases: check it there for a support contract.

SPIRE: the ``kubeVersion`` field of the chart's Chart.yaml (spiffe/helm-charts-hardened, tag ``spire-0.24.2``:
``kubeVersion: '>=1.21.0-0'``); Helm itself refuses to install a chart whose kubeVersion the cluster does not satisfy.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

SUPPORTED_RELEASES_URL = "https://istio.io/latest/docs/releases/supported-releases/#support-status-of-istio-releases"

# Istio minor release -> (lowest, highest) supported Kubernetes minor, from the istio.io table above.
ISTIO_KUBERNETES = {
    (1, 22): ((1, 27), (1, 30)),
    (1, 23): ((1, 27), (1, 30)),
    (1, 24): ((1, 28), (1, 31)),
    (1, 25): ((1, 29), (1, 32)),
    (1, 26): ((1, 29), (1, 33)),
    (1, 27): ((1, 29), (1, 33)),
    (1, 28): ((1, 30), (1, 34)),
    (1, 29): ((1, 31), (1, 35)),
}

# SPIRE chart version -> its Chart.yaml kubeVersion constraint (Helm semver syntax).
SPIRE_CHART_KUBE_VERSION = {
    "0.24.2": ">=1.21.0-0",
}

_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?")
_MINOR = re.compile(r"^(\d+)")


def kubernetes_version(version_doc):
    """(major, minor, patch) of a /version document; patch 0 when unknown. None when it cannot be read.

    gitVersion first (``v1.31.2-eks-1a2b3c4``), else major/minor (managed clusters report minor ``31+``).
    """
    doc = version_doc or {}
    match = _VERSION.match(str(doc.get("gitVersion") or ""))
    if match:
        return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
    major = _MINOR.match(str(doc.get("major") or ""))
    minor = _MINOR.match(str(doc.get("minor") or ""))
    if major and minor:
        return int(major.group(1)), int(minor.group(1)), 0
    return None


def istio_minor(version):
    """(major, minor) of an Istio version (1.27.3, 1.27.3-patch0, 1.27.0-solo); None when it is not one."""
    match = _VERSION.match(str(version or "").strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def istio_range(version):
    """((lowest), (highest)) Kubernetes minor supported by this Istio version, or None when the table has no row for it."""
    minor = istio_minor(version)
    return ISTIO_KUBERNETES.get(minor) if minor else None


def _parse_constraint_version(text):
    """(major, minor, patch) of a constraint's version; a missing part is 0 ('1.21' = 1.21.0); a pre-release suffix is dropped."""
    match = _VERSION.match(text.strip())
    if not match:
        raise ValueError("not a version: %r" % text)
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


_COMPARE = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def satisfies(version, constraint):
    """Whether (major, minor, patch) satisfies a Helm kubeVersion constraint: comparisons joined by spaces or commas (and),
    alternatives joined by '||'. A '-0' suffix (which makes Helm accept pre-release builds such as v1.29.1-eks-x) is
    accepted and ignored, as the version compared here never carries a pre-release. Raises ValueError on other syntax."""
    for alternative in str(constraint).split("||"):
        terms = [t for t in re.split(r"[\s,]+", alternative.strip()) if t]
        if not terms:
            continue
        ok = True
        for term in terms:
            match = re.match(r"^(>=|<=|!=|>|<|=)?\s*(.+)$", term)
            operator = match.group(1) or "="
            if not _COMPARE[operator](tuple(version), _parse_constraint_version(match.group(2))):
                ok = False
                break
        if ok:
            return True
    return False


def minor_text(minor):
    return "%d.%d" % tuple(minor[:2])
