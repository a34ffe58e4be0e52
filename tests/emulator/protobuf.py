"""Decoding of Kubernetes protobuf request bodies (the `k8s\\0` envelope) for the kinds clients send that way.

Hand-written from the field numbers of k8s.io/api generated.proto: runtime.Unknown{typeMeta=1, raw=2},
TypeMeta{apiVersion=1, kind=2}, ObjectMeta{name=1, generateName=2, namespace=3, uid=5, resourceVersion=6,
labels=11, annotations=12, finalizers=14}, Secret{metadata=1, data=2 (bytes), type=3, stringData=4,
immutable=5}, ConfigMap{metadata=1, data=2, binaryData=3, immutable=4}, Namespace{metadata=1,
spec=2{finalizers=1}}, ServiceAccount{metadata=1}, DeleteOptions{propagationPolicy=4}; what `kubectl auth can-i|whoami`
send: SelfSubjectAccessReview{metadata=1, spec=2{resourceAttributes=1{namespace=1, verb=2, group=3, version=4,
resource=5, subresource=6, name=7}, nonResourceAttributes=2{path=1, verb=2}}}, SelfSubjectRulesReview{metadata=1,
spec=2{namespace=1}}, SelfSubjectReview{metadata=1}. Other kinds decode to their TypeMeta and metadata only.
"""

import base64

MAGIC = b"k8s\x00"
DECODED_KINDS = ("Secret", "ConfigMap", "Namespace", "ServiceAccount", "DeleteOptions", "SelfSubjectAccessReview",
                 "SelfSubjectRulesReview", "SelfSubjectReview")
RESOURCE_ATTRIBUTES = {1: "namespace", 2: "verb", 3: "group", 4: "version", 5: "resource", 6: "subresource", 7: "name"}


class ProtobufError(ValueError):
    """A body that is not valid protobuf."""


def _varint(data, pos):
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ProtobufError("varint too long")


def fields(data):
    """Yield (field number, value) of a message: ints for varints, bytes for length-delimited fields."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise ProtobufError("truncated field %d" % number)
            value, pos = data[pos:pos + length], pos + length
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise ProtobufError("unsupported wire type %d" % wire)
        yield number, value


def _text(value):
    return value.decode("utf-8")


def _map_entry(data):
    key = value = b""
    for number, item in fields(data):
        if number == 1:
            key = item
        elif number == 2:
            value = item
    return _text(key), value


def _object_meta(data):
    meta = {}
    names = {1: "name", 2: "generateName", 3: "namespace", 5: "uid", 6: "resourceVersion"}
    for number, value in fields(data):
        if number in names and value:
            meta[names[number]] = _text(value)
        elif number in (11, 12):
            key, item = _map_entry(value)
            meta.setdefault("labels" if number == 11 else "annotations", {})[key] = _text(item)
        elif number == 14:
            meta.setdefault("finalizers", []).append(_text(value))
    return meta


def _decode_kind(kind, raw):
    obj = {}
    for number, value in fields(raw):
        if number == 1 and kind != "DeleteOptions":
            obj["metadata"] = _object_meta(value)
        elif kind == "Secret":
            if number == 2:
                key, item = _map_entry(value)
                obj.setdefault("data", {})[key] = base64.b64encode(item).decode()
            elif number == 3:
                obj["type"] = _text(value)
            elif number == 4:
                key, item = _map_entry(value)
                obj.setdefault("stringData", {})[key] = _text(item)
            elif number == 5:
                obj["immutable"] = bool(value)
        elif kind == "ConfigMap":
            if number in (2, 3):
                key, item = _map_entry(value)
                if number == 2:
                    obj.setdefault("data", {})[key] = _text(item)
                else:
                    obj.setdefault("binaryData", {})[key] = base64.b64encode(item).decode()
            elif number == 4:
                obj["immutable"] = bool(value)
        elif kind == "DeleteOptions" and number == 4:
            obj["propagationPolicy"] = _text(value)
        elif kind == "SelfSubjectAccessReview" and number == 2:
            spec = {}
            for snum, sval in fields(value):
                names = RESOURCE_ATTRIBUTES if snum == 1 else {1: "path", 2: "verb"}
                attrs = {names[n]: _text(v) for n, v in fields(sval) if n in names and v}
                spec["resourceAttributes" if snum == 1 else "nonResourceAttributes"] = attrs
            obj["spec"] = spec
        elif kind == "SelfSubjectRulesReview" and number == 2:
            obj["spec"] = {"namespace": _text(v) for n, v in fields(value) if n == 1}
        elif kind == "Namespace" and number == 2:
            finalizers = [_text(v) for n, v in fields(value) if n == 1]
            if finalizers:
                obj["spec"] = {"finalizers": finalizers}
    return obj


def decode(body):
    """The object (a JSON-style dict) in a protobuf body; raises ProtobufError."""
    if not body.startswith(MAGIC):
        raise ProtobufError("missing the k8s protobuf envelope")
    try:
        api_version = kind = ""
        raw = b""
        for number, value in fields(body[len(MAGIC):]):
            if number == 1:
                for tnum, tval in fields(value):
                    if tnum == 1:
                        api_version = _text(tval)
                    elif tnum == 2:
                        kind = _text(tval)
            elif number == 2:
                raw = value
        obj = {"apiVersion": api_version, "kind": kind}
        obj.update(_decode_kind(kind, raw))
        return obj
    except (UnicodeDecodeError, TypeError) as exc:
        raise ProtobufError(str(exc)) from exc
