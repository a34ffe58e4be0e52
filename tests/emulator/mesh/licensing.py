"""Emulated Solo licenses: test tokens the emulated istiod decodes (the real format is not public).

Format: ``emu-license:<Product>:<YYYY-MM-DD>[:trial]``, e.g. ``emu-license:GlooMesh:2099-12-31`` (the default of
inventories/local). States as the real licensing client reports them (platform-facts §B.2):
- no key -> UNSET; not decodable (wrong prefix, bad product, bad date) -> INVALID;
- expired trial (``:trial``) -> EXPIRED; expired non-trial -> OK (the real "grace period" never ends);
- otherwise OK. Products GlooCore and IstioSupportBasic lack the MultiCluster feature.
"""

import base64
import datetime
import re

PREFIX = "emu-license"
NO_MULTICLUSTER = ("GlooCore", "IstioSupportBasic")
SECRET_KEYS = ("license-key", "gloo-mesh-license-key", "gloo-trial-license-key")


def decode(key):
    """{"State": ..., "Product": ...} of a license key (as /debug/license answers)."""
    if not key:
        return {"State": "UNSET", "Product": ""}
    parts = key.strip().split(":")
    if len(parts) not in (3, 4) or parts[0] != PREFIX or not re.match(r"^[A-Za-z][A-Za-z0-9]*$", parts[1]) or \
            (len(parts) == 4 and parts[3] != "trial"):
        return {"State": "INVALID", "Product": ""}
    try:
        expiry = datetime.datetime.strptime(parts[2], "%Y-%m-%d").date()
    except ValueError:
        return {"State": "INVALID", "Product": ""}
    expired = expiry < datetime.datetime.now(datetime.timezone.utc).date()
    return {"State": "EXPIRED" if expired and len(parts) == 4 else "OK", "Product": parts[1]}


def allows_multicluster(info):
    """Whether a decoded license enables the MultiCluster feature."""
    return info["State"] in ("OK", "BYPASSED") and info["Product"] not in NO_MULTICLUSTER


def istiod_license_key(cluster, env):
    """The license istiod reads: env SOLO_LICENSE_KEY, else the Secret named by SOLO_LICENSE_SECRET=<ns>/<name>."""
    if env.get("SOLO_LICENSE_KEY"):
        return env["SOLO_LICENSE_KEY"]
    ref = env.get("SOLO_LICENSE_SECRET") or ""
    if "/" in ref:
        namespace, name = ref.split("/", 1)
        secret = cluster.get("v1", "Secret", name, namespace)
        data = (secret or {}).get("data") or {}
        for key in SECRET_KEYS:
            if data.get(key):
                try:
                    return base64.b64decode(data[key]).decode().strip()
                except ValueError:
                    return "undecodable"
    return ""


def version_tuple(version):
    """(major, minor) of an Istio version like 1.27.3-patch0, or None."""
    match = re.match(r"^v?(\d+)\.(\d+)", version or "")
    return (int(match.group(1)), int(match.group(2))) if match else None
