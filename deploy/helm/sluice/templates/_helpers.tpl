{{/* The release's base name: the release name, or release-chart when it does not contain the chart name. */}}
{{- define "sluice.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "sluice.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "sluice.labels" -}}
{{ include "sluice.selectorLabels" . }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* The Secret whose keys become the container's environment. */}}
{{- define "sluice.secretName" -}}
{{- if .Values.secrets.create -}}
{{- printf "%s-provider-keys" (include "sluice.fullname" .) -}}
{{- else -}}
{{- required "secrets.existingSecret is required when secrets.create is false" .Values.secrets.existingSecret -}}
{{- end -}}
{{- end -}}

{{/* Gateway spec.redis.address: the release's Redis, an external one, or empty. */}}
{{- define "sluice.redisAddress" -}}
{{- if .Values.redis.enabled -}}
{{- printf "%s-redis:%d" (include "sluice.fullname" .) (int .Values.redis.port) -}}
{{- else -}}
{{- .Values.redis.external.address -}}
{{- end -}}
{{- end -}}

{{- define "sluice.terminationGracePeriodSeconds" -}}
{{- add (int .Values.preStopSeconds) (int .Values.gateway.drainTimeoutSeconds) (int .Values.terminationGraceMarginSeconds) -}}
{{- end -}}

{{/* The Gateway resource, gateway.yaml of the ConfigMap. */}}
{{- define "sluice.gatewayConfig" -}}
{{- $spec := dict
  "listeners" (list (dict "name" "http" "address" "0.0.0.0" "port" (int .Values.gateway.port)))
  "admin" (dict "address" "0.0.0.0" "port" (int .Values.gateway.adminPort))
  "limits" (dict "drainTimeout" (printf "%ds" (int .Values.gateway.drainTimeoutSeconds)))
  "accessLog" .Values.gateway.accessLog
  "workers" (int .Values.gateway.workers) -}}
{{- $redis := include "sluice.redisAddress" . -}}
{{- if $redis -}}
{{- $_ := set $spec "redis" (dict "address" $redis "keyPrefix" .Values.redis.keyPrefix "timeout" .Values.redis.timeout) -}}
{{- end -}}
{{- $spec = mergeOverwrite $spec (deepCopy .Values.gateway.extraSpec) -}}
apiVersion: sluice.dev/v1alpha1
kind: Gateway
metadata: {name: {{ .Values.gateway.name }}}
spec:
{{ toYaml $spec | indent 2 }}
{{- end -}}
