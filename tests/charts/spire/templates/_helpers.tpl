{{/* Names as the real chart renders them for any release name/namespace (umbrella nameOverride server/agent). */}}
{{- define "spire.fullname" -}}
{{- $name := .name -}}
{{- if contains $name .root.Release.Name -}}
{{- .root.Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .root.Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "spire.server.fullname" -}}
{{- include "spire.fullname" (dict "root" . "name" (default "server" (index .Values "spire-server" "nameOverride"))) -}}
{{- end -}}

{{- define "spire.agent.fullname" -}}
{{- include "spire.fullname" (dict "root" . "name" (default "agent" (index .Values "spire-agent" "nameOverride"))) -}}
{{- end -}}

{{- define "spire.csi.fullname" -}}
{{- include "spire.fullname" (dict "root" . "name" "spiffe-csi-driver") -}}
{{- end -}}

{{- define "spire.className" -}}
{{- default (printf "%s-%s" .Release.Namespace .Release.Name) (index .Values "spire-server" "controllerManager" "className") -}}
{{- end -}}

{{- define "spire.bundleConfigMap" -}}
{{- default (printf "%s-bundle" .Release.Name) .Values.global.spire.bundleConfigMap -}}
{{- end -}}

{{- define "spire.upstreamSecretName" -}}
{{- $disk := index .Values "spire-server" "upstreamAuthority" "disk" -}}
{{- if $disk.secret.create -}}
{{- printf "%s-upstream-ca" (include "spire.server.fullname" .) -}}
{{- else -}}
{{- $disk.secret.name -}}
{{- end -}}
{{- end -}}

{{- define "spire.labels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "spire.selectorLabels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{- define "spire.image" -}}
{{- printf "%s/%s:%s" .image.registry .image.repository (default .appVersion .image.tag) -}}
{{- end -}}
