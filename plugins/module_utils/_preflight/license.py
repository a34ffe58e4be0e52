# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What can be told about a Gloo license key without sending it anywhere. PRIVATE to the collection.

Solo does not publish the format of its license keys, and they are decoded by a closed client library. What this module
can honestly say: whether a key is set, and, when the key is a JSON Web Token (three base64url parts whose middle one is a
JSON object), the ``exp`` and ``iat`` claims it carries (RFC 7519, seconds since the epoch). The signature is NOT verified
(the signing key is not public either), so a decoded expiry is what the key says about itself, not proof that Solo issued
it. The result never holds the key, nor any claim other than those two dates.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import datetime
import json


def _b64url_json(part):
    padded = part + "=" * (-len(part) % 4)
    try:
        decoded = base64.urlsafe_b64decode(padded.encode("ascii"))
        return json.loads(decoded.decode("utf-8"))
    except (ValueError, UnicodeError, TypeError):
        return None


def _date(epoch):
    try:
        return datetime.datetime.fromtimestamp(int(epoch), tz=datetime.timezone.utc)
    except (ValueError, TypeError, OverflowError, OSError):
        return None


def describe(key):
    """{"set": bool, "length": n, "format": "jwt"|"unknown", "expires": ISO date or None, "issued": ISO date or None}."""
    text = key.strip() if isinstance(key, str) else ""
    result = {"set": bool(text), "length": len(text), "format": "unknown", "expires": None, "issued": None}
    parts = text.split(".")
    if len(parts) == 3 and all(parts):
        header, payload = _b64url_json(parts[0]), _b64url_json(parts[1])
        if isinstance(header, dict) and isinstance(payload, dict):
            result["format"] = "jwt"
            for claim, field in (("exp", "expires"), ("iat", "issued")):
                when = _date(payload.get(claim)) if isinstance(payload.get(claim), (int, float)) else None
                result[field] = when.strftime("%Y-%m-%dT%H:%M:%SZ") if when else None
    return result
