{{- $server := index .Values "spire-server" -}}
{{- if $server.enabled }}
{{- $fullname := include "spire.server.fullname" . -}}
{{- $disk := $server.upstreamAuthority.disk -}}
{{- $td := .Values.global.spire.trustDomain -}}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ $fullname }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "spire.labels" (dict "root" . "name" "server") | nindent 4 }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $fullname }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "spire.labels" (dict "root" . "name" "server") | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "spire.selectorLabels" (dict "root" . "name" "server") | nindent 4 }}
  ports:
    - name: grpc
      port: 443
      targetPort: grpc
      protocol: TCP
{{- if and $disk.enabled $disk.secret.create }}
---
apiVersion: v1
kind: Secret
metadata:
  name: {{ include "spire.upstreamSecretName" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "spire.labels" (dict "root" . "name" "server") | nindent 4 }}
data:
  tls.crt: {{ $disk.secret.data.certificate | b64enc | quote }}
  tls.key: {{ $disk.secret.data.key | b64enc | quote }}
  {{- if $disk.secret.data.bundle }}
  bundle.crt: {{ $disk.secret.data.bundle | b64enc | quote }}
  {{- end }}
{{- end }}
{{- $upstream := list -}}
{{- if $disk.enabled -}}
{{- $pluginData := dict "cert_file_path" "/run/spire/upstream_ca/tls.crt" "key_file_path" "/run/spire/upstream_ca/tls.key" -}}
{{- /* The real chart's pitfall: bundle_file_path only when the VALUE data.bundle is non-empty, whatever the Secret holds. */ -}}
{{- if $disk.secret.data.bundle -}}
{{- $_ := set $pluginData "bundle_file_path" "/run/spire/upstream_ca/bundle.crt" -}}
{{- end -}}
{{- $upstream = list (dict "disk" (dict "plugin_data" $pluginData)) -}}
{{- end -}}
{{- $plugins := dict
  "DataStore" (list (dict "sql" (dict "plugin_data" (dict "database_type" "sqlite3" "connection_string" "/run/spire/data/datastore.sqlite3"))))
  "KeyManager" (list (dict "disk" (dict "plugin_data" (dict "keys_path" "/run/spire/data/keys.json"))))
  "NodeAttestor" (list (dict "k8s_psat" (dict "plugin_data" (dict "clusters" (list (dict .Values.global.spire.clusterName (dict "service_account_allow_list" (list (printf "%s:%s" .Release.Namespace (include "spire.agent.fullname" .))))))))))
  "Notifier" (list (dict "k8sbundle" (dict "plugin_data" (dict "namespace" .Release.Namespace "config_map" (include "spire.bundleConfigMap" .)))))
-}}
{{- if $upstream -}}
{{- $_ := set $plugins "UpstreamAuthority" $upstream -}}
{{- end -}}
{{- $conf := dict
  "server" (dict "bind_address" "0.0.0.0" "bind_port" 8081 "trust_domain" $td "data_dir" "/run/spire/data" "log_level" $server.logLevel "ca_ttl" $server.caTTL "default_x509_svid_ttl" $server.defaultX509SvidTTL "ca_subject" (list .Values.global.spire.caSubject))
  "plugins" $plugins
  "health_checks" (dict "listener_enabled" true "bind_address" "0.0.0.0" "bind_port" "8080" "live_path" "/live" "ready_path" "/ready")
}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ $fullname }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "spire.labels" (dict "root" . "name" "server") | nindent 4 }}
data:
  server.conf: |
    {{- $conf | toPrettyJson | nindent 4 }}
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ $fullname }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "spire.labels" (dict "root" . "name" "server") | nindent 4 }}
    app.kubernetes.io/component: server
spec:
  replicas: {{ $server.replicaCount }}
  serviceName: {{ $fullname }}
  selector:
    matchLabels:
      {{- include "spire.selectorLabels" (dict "root" . "name" "server") | nindent 6 }}
      app.kubernetes.io/component: server
  template:
    metadata:
      labels:
        {{- include "spire.selectorLabels" (dict "root" . "name" "server") | nindent 8 }}
        app.kubernetes.io/component: server
        component: server
      annotations:
        checksum/config: {{ $conf | toJson | sha256sum }}
    spec:
      serviceAccountName: {{ $fullname }}
      shareProcessNamespace: true
      {{- with $server.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: spire-server
          image: {{ include "spire.image" (dict "image" $server.image "appVersion" .Chart.AppVersion) }}
          args: ["-expandEnv", "-config", "/run/spire/config/server.conf"]
          ports:
            - name: grpc
              containerPort: 8081
            - name: healthz
              containerPort: 8080
          readinessProbe:
            httpGet:
              path: /ready
              port: healthz
          livenessProbe:
            httpGet:
              path: /live
              port: healthz
          volumeMounts:
            - name: spire-server-socket
              mountPath: /tmp/spire-server/private
            - name: spire-config
              mountPath: /run/spire/config
              readOnly: true
            - name: spire-data
              mountPath: /run/spire/data
            {{- if $disk.enabled }}
            - name: upstream-ca
              mountPath: /run/spire/upstream_ca
              readOnly: true
            {{- end }}
        {{- if $server.controllerManager.enabled }}
        - name: spire-controller-manager
          image: {{ include "spire.image" (dict "image" $server.controllerManager.image "appVersion" "0.6.0") }}
          args: ["--config=controller-manager-config.yaml"]
          ports:
            - name: https
              containerPort: 9443
            - name: healthz
              containerPort: 8083
          volumeMounts:
            - name: spire-server-socket
              mountPath: /tmp/spire-server/private
              readOnly: true
            - name: controller-manager-config
              mountPath: /controller-manager-config.yaml
              subPath: controller-manager-config.yaml
              readOnly: true
        {{- end }}
      volumes:
        - name: spire-server-socket
          emptyDir: {}
        - name: spire-config
          configMap:
            name: {{ $fullname }}
        {{- if $server.controllerManager.enabled }}
        - name: controller-manager-config
          configMap:
            name: {{ .Release.Name }}-controller-manager
        {{- end }}
        {{- if $disk.enabled }}
        - name: upstream-ca
          secret:
            secretName: {{ include "spire.upstreamSecretName" . }}
        {{- end }}
        {{- if eq $server.persistence.type "emptyDir" }}
        - name: spire-data
          emptyDir: {}
        {{- end }}
  {{- if eq $server.persistence.type "pvc" }}
  volumeClaimTemplates:
    - metadata:
        name: spire-data
      spec:
        accessModes: ["ReadWriteOnce"]
        resources:
          requests:
            storage: {{ $server.persistence.size }}
  {{- end }}
{{- end }}
