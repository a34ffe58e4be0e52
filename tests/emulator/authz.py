"""Authentication and authorization of one emulated cluster: bearer tokens map to users; a user is cluster-admin or
holds a list of rules (verbs x apiGroups x resources [x resourceNames] [x namespaces]). Requests a user's rules do not
allow get 403 with kube-apiserver's message; SelfSubjectAccessReview, SelfSubjectRulesReview (kubectl auth can-i
[--list]) and SelfSubjectReview (kubectl auth whoami) answer from the same model.

A rule without "namespaces" applies everywhere (like a ClusterRole bound by a ClusterRoleBinding); with "namespaces" it
applies to namespaced requests in those namespaces only (like RoleBindings there). Discovery, /version, /openapi and the
review APIs are allowed to every authenticated user (system:discovery, system:basic-user).
"""

import copy
import secrets

from emulator.errors import ApiError

ADMIN_USER = "kubernetes-admin"
ADMIN_GROUPS = ["kubeadm:cluster-admins", "system:authenticated"]
RULE_KEYS = ("verbs", "apiGroups", "resources")
OPTIONAL_RULE_KEYS = ("resourceNames", "namespaces")
BASIC_USER_RULES = [{"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
                     "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]},
                    {"verbs": ["create"], "apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"]}]
DISCOVERY_URLS = ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz", "/version", "/version/"]
REVIEW_RESOURCES = {("authorization.k8s.io", "selfsubjectaccessreviews"), ("authorization.k8s.io", "selfsubjectrulesreviews"),
                    ("authentication.k8s.io", "selfsubjectreviews")}


def validate_rules(rules):
    """Check a list of rules; raises ValueError naming the problem."""
    if rules is None:
        return None
    if not isinstance(rules, list):
        raise ValueError("rules must be a list (or null for cluster-admin)")
    for index, rule in enumerate(rules):
        if not isinstance(rule, dict):
            raise ValueError("rule %d is not an object" % index)
        unknown = set(rule) - set(RULE_KEYS) - set(OPTIONAL_RULE_KEYS)
        if unknown:
            raise ValueError("rule %d: unknown key(s) %s; known: %s" % (index, ", ".join(sorted(unknown)), ", ".join(RULE_KEYS + OPTIONAL_RULE_KEYS)))
        for key in RULE_KEYS + OPTIONAL_RULE_KEYS:
            value = rule.get(key)
            if key in RULE_KEYS and value is None:
                raise ValueError("rule %d: %s is required (a list; \"*\" for all)" % (index, key))
            if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise ValueError("rule %d: %s must be a list of strings" % (index, key))
    return copy.deepcopy(rules)


class Users:
    """The users of one cluster, by bearer token. The cluster's own token is the cluster-admin ADMIN_USER."""

    def __init__(self, admin_token):
        self.admin_token = admin_token
        self.by_token = {}
        self.reset()

    def reset(self):
        """Only the cluster-admin token."""
        self.by_token = {self.admin_token: {"name": ADMIN_USER, "groups": list(ADMIN_GROUPS), "rules": None}}

    def add(self, name, rules, groups=None, token=None):
        """Create (or, for a known token, change) a user; returns its record with the token."""
        rules = validate_rules(rules)
        if not name or not isinstance(name, str):
            raise ValueError("a user needs a name")
        token = token or secrets.token_urlsafe(24)
        groups = list(groups or []) + (["system:authenticated"] if "system:authenticated" not in (groups or []) else [])
        self.by_token[token] = {"name": name, "groups": groups, "rules": rules}
        return dict(self.by_token[token], token=token)

    def listing(self):
        """Every user with its token."""
        return [dict(user, token=token) for token, user in self.by_token.items()]

    def authenticate(self, header):
        """The user of an Authorization header, or None."""
        if not header or not header.startswith("Bearer "):
            return None
        return self.by_token.get(header[len("Bearer "):])


def _matches(values, wanted):
    return "*" in values or wanted in values


def _resource_matches(rule_resources, resource, subresource):
    combined = resource + ("/" + subresource if subresource else "")
    for value in rule_resources:
        if value in ("*", combined):
            return True
        if subresource and value == "*/" + subresource:
            return True
    return False


def rule_allows(rule, verb, group, resource, subresource="", namespace="", name=""):
    """Whether one rule allows a resource request."""
    namespaces = rule.get("namespaces")
    if namespaces is not None and not (namespace and _matches(namespaces, namespace)):
        return False
    if not (_matches(rule["verbs"], verb) and _matches(rule["apiGroups"], group) and _resource_matches(rule["resources"], resource, subresource)):
        return False
    names = rule.get("resourceNames")
    return not names or (name and name in names)


def allows(user, verb, group, resource, subresource="", namespace="", name=""):
    """Whether a user may make a resource request."""
    if user["rules"] is None or (group, resource) in REVIEW_RESOURCES and verb == "create":
        return True
    return any(rule_allows(rule, verb, group, resource, subresource, namespace, name) for rule in user["rules"])


def forbidden(user, verb, group, resource, subresource="", namespace="", name=""):
    """The 403 of the authorization filter (responsewriters.Forbidden + errors.NewForbidden)."""
    shown = resource + ("/" + subresource if subresource else "")
    scope = 'in the namespace "%s"' % namespace if namespace else "at the cluster scope"
    reason = 'User "%s" cannot %s resource "%s" in API group "%s" %s' % (user["name"], verb, shown, group, scope)
    qualified = "%s.%s" % (resource, group) if group else resource
    message = '%s "%s" is forbidden: %s' % (qualified, name, reason) if name else "%s is forbidden: %s" % (qualified, reason)
    return ApiError(403, message, "Forbidden", details={"name": name, "group": group, "kind": resource} if name else
                    {"group": group, "kind": resource})


def _allowed_reason(user):
    if user["rules"] is None:
        return 'RBAC: allowed by ClusterRoleBinding "kubeadm:cluster-admins" of ClusterRole "cluster-admin" to Group "kubeadm:cluster-admins"'
    return 'RBAC: allowed by the emulator\'s rules of User "%s"' % user["name"]


def access_review(user, body):
    """SelfSubjectAccessReview: the request echoed with status.allowed (and reason when allowed)."""
    spec = (body or {}).get("spec") if isinstance(body, dict) else None
    if not isinstance(spec, dict) or not (spec.get("resourceAttributes") or spec.get("nonResourceAttributes")):
        raise ApiError(422, 'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: '
                       '"null": exactly one of nonResourceAttributes or resourceAttributes must be specified', "Invalid")
    if spec.get("resourceAttributes"):
        attrs = spec["resourceAttributes"]
        allowed = allows(user, attrs.get("verb") or "", attrs.get("group") or "", attrs.get("resource") or "",
                         attrs.get("subresource") or "", attrs.get("namespace") or "", attrs.get("name") or "")
    else:
        allowed = user["rules"] is None or ((spec["nonResourceAttributes"].get("verb") or "") == "get" and _url_allowed(
            spec["nonResourceAttributes"].get("path") or ""))
    status = {"allowed": allowed}
    if allowed:
        status["reason"] = _allowed_reason(user)
    return {"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1", "metadata": {"creationTimestamp": None},
            "spec": spec, "status": status}


def _url_allowed(path):
    for url in DISCOVERY_URLS:
        if path == url or (url.endswith("*") and path.startswith(url[:-1])):
            return True
    return False


def rules_review(user, body):
    """SelfSubjectRulesReview: the rules that apply in spec.namespace."""
    spec = (body or {}).get("spec") if isinstance(body, dict) else None
    namespace = (spec or {}).get("namespace") or ""
    if user["rules"] is None:
        resource_rules = [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]
        non_resource = [{"verbs": ["*"], "nonResourceURLs": ["*"]}]
    else:
        resource_rules = [{k: v for k, v in r.items() if k != "namespaces"} for r in user["rules"]
                          if r.get("namespaces") is None or (namespace and _matches(r["namespaces"], namespace))]
        non_resource = [{"verbs": ["get"], "nonResourceURLs": list(DISCOVERY_URLS)}]
    return {"kind": "SelfSubjectRulesReview", "apiVersion": "authorization.k8s.io/v1", "metadata": {"creationTimestamp": None},
            "spec": {"namespace": namespace},
            "status": {"resourceRules": copy.deepcopy(BASIC_USER_RULES) + resource_rules, "nonResourceRules": non_resource,
                       "incomplete": False}}


def self_review(user):
    """SelfSubjectReview (kubectl auth whoami)."""
    return {"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1", "metadata": {"creationTimestamp": None},
            "status": {"userInfo": {"username": user["name"], "groups": list(user["groups"])}}}


REVIEWS = {("authorization.k8s.io", "selfsubjectaccessreviews"): access_review,
           ("authorization.k8s.io", "selfsubjectrulesreviews"): rules_review,
           ("authentication.k8s.io", "selfsubjectreviews"): lambda user, body: self_review(user)}
