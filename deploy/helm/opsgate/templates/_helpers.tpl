{{/* Names and labels. */}}
{{- define "opsgate.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "opsgate.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "opsgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "opsgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "opsgate.labels" -}}
{{ include "opsgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "opsgate.secretName" -}}
{{- default (printf "%s-secrets" (include "opsgate.fullname" .)) .Values.secrets.existingSecret -}}
{{- end -}}

{{- define "opsgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "opsgate.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The config file: values.config, with the kubectl copied into the pod
     as the executor's kubectl when the chart grants it a Role. */}}
{{- define "opsgate.config" -}}
{{- $cfg := deepCopy (default dict .Values.config) -}}
{{- if gt (len .Values.rbac.namespaces) 0 -}}
{{- $exec := deepCopy (default dict (get $cfg "executor")) -}}
{{- if not (hasKey $exec "kubectl") -}}
{{- $_ := set $exec "kubectl" "/opt/opsgate/bin/kubectl" -}}
{{- end -}}
{{- $_ := set $cfg "executor" $exec -}}
{{- end -}}
{{- if $cfg }}{{ toYaml $cfg }}{{ end -}}
{{- end -}}
