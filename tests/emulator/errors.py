"""Kubernetes Status errors."""

import json

REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
           406: "NotAcceptable", 409: "Conflict", 410: "Expired", 413: "RequestEntityTooLarge",
           415: "UnsupportedMediaType", 422: "Invalid", 500: "InternalError", 503: "ServiceUnavailable"}


class ApiError(Exception):
    """An error the API answers as a `kind: Status` body."""

    def __init__(self, code, message, reason=None, details=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or REASONS.get(code, "Unknown")
        self.details = details

    def status(self):
        """The Status object."""
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason, "code": self.code}
        if self.details:
            body["details"] = self.details
        return body

    def body(self):
        """The Status object as JSON bytes."""
        return json.dumps(self.status()).encode()


def not_found(rtype, name):
    """404 for one object."""
    resource = "%s.%s" % (rtype.plural, rtype.group) if rtype.group else rtype.plural
    return ApiError(404, '%s "%s" not found' % (resource, name),
                    details={"name": name, "group": rtype.group, "kind": rtype.plural})


def already_exists(rtype, name):
    """409 AlreadyExists."""
    resource = "%s.%s" % (rtype.plural, rtype.group) if rtype.group else rtype.plural
    return ApiError(409, '%s "%s" already exists' % (resource, name), "AlreadyExists",
                    details={"name": name, "group": rtype.group, "kind": rtype.plural})


def conflict(rtype, name, why="the object has been modified; please apply your changes to the latest version and try again"):
    """409 Conflict."""
    resource = "%s.%s" % (rtype.plural, rtype.group) if rtype.group else rtype.plural
    return ApiError(409, 'Operation cannot be fulfilled on %s "%s": %s' % (resource, name, why), "Conflict",
                    details={"name": name, "group": rtype.group, "kind": rtype.plural})


def invalid(rtype, name, field, message):
    """422 Invalid (the kind qualified with its group, as GroupKind.String() prints it: Job.batch)."""
    kind = "%s.%s" % (rtype.kind, rtype.group) if rtype.group else rtype.kind
    return ApiError(422, '%s "%s" is invalid: %s: %s' % (kind, name, field, message), "Invalid",
                    details={"name": name, "group": rtype.group, "kind": rtype.kind,
                             "causes": [{"reason": "FieldValueInvalid", "message": message, "field": field}]})
