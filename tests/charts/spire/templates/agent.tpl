{{- $agent := index .Values "spire-agent" -}}
{{- if $agent.enabled }}
{{- $fullname := include "spire.agent.fullname" . -}}
{{- $socketDir := dir $agent.socketPath -}}
{{- if hasPrefix (printf "%s/" $socketDir) (printf "%s/" $agent.sockets.hostBasePath) -}}
{{- fail (printf "spire-agent.sockets.hostBasePath (%s) must not be under the socketPath directory (%s)" $agent.sockets.hostBasePath $socketDir) -}}
{{- end -}}
{{- $conf := dict
  "trust_domain" .Values.global.spire.trustDomain
  "server_address" (printf "%s.%s" (include "spire.server.fullname" .) .Release.Namespace)
  "server_port" 443
  "socket_path" $agent.socketPath
  "data_dir" "/var/lib/spire"
  "log_level" $agent.logLevel
  "trust_bundle_path" "/run/spire/bundle/bundle.crt"
-}}
{{- if $agent.sockets.admin.enabled -}}
{{- $_ := set $conf "admin_socket_path" "/tmp/spire-agent/private/admin.sock" -}}
{{- end -}}
{{- if $agent.authorizedDelegates -}}
{{- $_ := set $conf "authorized_delegates" $agent.authorizedDelegates -}}
{{- end -}}
{{- $full := dict "agent" $conf
  "plugins" (dict
    "KeyManager" (list (dict "memory" (dict "plugin_data" dict)))
    "NodeAttestor" (list (dict "k8s_psat" (dict "plugin_data" (dict "cluster" .Values.global.spire.clusterName))))
    "WorkloadAttestor" (list (dict "k8s" (dict "plugin_data" (dict "disable_container_selectors" false "skip_kubelet_verification" true)))))
  "health_checks" (dict "listener_enabled" true "bind_address" "0.0.0.0" "bind_port" "9982" "live_path" "/live" "ready_path" "/ready")
-}}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ $fullname }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "spire.labels" (dict "root" . "name" "agent") | nindent 4 }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ $fullname }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "spire.labels" (dict "root" . "name" "agent") | nindent 4 }}
data:
  agent.conf: |
    {{- $full | toPrettyJson | nindent 4 }}
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: {{ $fullname }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "spire.labels" (dict "root" . "name" "agent") | nindent 4 }}
    app.kubernetes.io/component: default
spec:
  selector:
    matchLabels:
      {{- include "spire.selectorLabels" (dict "root" . "name" "agent") | nindent 6 }}
      app.kubernetes.io/component: default
  template:
    metadata:
      labels:
        {{- include "spire.selectorLabels" (dict "root" . "name" "agent") | nindent 8 }}
        app.kubernetes.io/component: default
      annotations:
        checksum/config: {{ $full | toJson | sha256sum }}
    spec:
      serviceAccountName: {{ $fullname }}
      hostPID: true
      hostNetwork: true
      dnsPolicy: ClusterFirstWithHostNet
      {{- with $agent.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: spire-agent
          image: {{ include "spire.image" (dict "image" $agent.image "appVersion" .Chart.AppVersion) }}
          args: ["-config", "/opt/spire/conf/agent/agent.conf"]
          volumeMounts:
            - name: spire-config
              mountPath: /opt/spire/conf/agent
              readOnly: true
            - name: spire-bundle
              mountPath: /run/spire/bundle
              readOnly: true
            - name: spire-agent-socket-dir
              mountPath: {{ $socketDir }}
            {{- if $agent.sockets.admin.enabled }}
            - name: spire-agent-admin-socket-dir
              mountPath: /tmp/spire-agent/private
            {{- end }}
      volumes:
        - name: spire-config
          configMap:
            name: {{ $fullname }}
        - name: spire-bundle
          configMap:
            name: {{ include "spire.bundleConfigMap" . }}
        - name: spire-agent-socket-dir
          hostPath:
            path: {{ $agent.sockets.hostBasePath }}/csi.spiffe.io
            type: DirectoryOrCreate
        {{- if $agent.sockets.admin.enabled }}
        - name: spire-agent-admin-socket-dir
          {{- if $agent.sockets.admin.mountOnHost }}
          hostPath:
            path: {{ $agent.sockets.hostBasePath }}/csi.spiffe.io/admin
            type: DirectoryOrCreate
          {{- else }}
          emptyDir: {}
          {{- end }}
        {{- end }}
{{- end }}
