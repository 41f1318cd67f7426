{{/*
The prefix of every object's name: the release name, followed by the chart's name unless the release name
contains it (release eureka-drainer: the names of k8s/webhook). 55 characters, so "<prefix>-webhook" still fits a
Service name's 63.
*/}}
{{- define "eureka-drainer.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 55 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 55 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 55 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The webhook's Deployment, Service, ServiceAccount and PDB. */}}
{{- define "eureka-drainer.webhookName" -}}
{{- printf "%s-webhook" (include "eureka-drainer.fullname" .) -}}
{{- end -}}

{{/* The Secret holding the serving certificate (tls.crt, tls.key; ca.crt when the chart makes it). */}}
{{- define "eureka-drainer.tlsSecretName" -}}
{{- printf "%s-webhook-tls" (include "eureka-drainer.fullname" .) -}}
{{- end -}}

{{/* The names the apiserver checks the serving certificate against. */}}
{{- define "eureka-drainer.dnsNames" -}}
{{- $service := include "eureka-drainer.webhookName" . -}}
{{- list (printf "%s.%s.svc" $service .Release.Namespace) (printf "%s.%s.svc.cluster.local" $service .Release.Namespace) | toJson -}}
{{- end -}}

{{/* Selects this release's webhook pods (the name k8s/webhook uses, and the release: two releases never select each other's). */}}
{{- define "eureka-drainer.selectorLabels" -}}
app.kubernetes.io/name: eureka-drainer-webhook
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Every object's: which release made it, from which chart. */}}
{{- define "eureka-drainer.commonLabels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: eureka-drainer
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* The webhook's objects'. */}}
{{- define "eureka-drainer.labels" -}}
app.kubernetes.io/name: eureka-drainer-webhook
{{ include "eureka-drainer.commonLabels" . }}
{{- end -}}

{{- define "eureka-drainer.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The drainer image written into pods: drainer.image, else the webhook's own. */}}
{{- define "eureka-drainer.drainerImage" -}}
{{- $repository := default .Values.image.repository .Values.drainer.image.repository -}}
{{- $tag := default (default .Chart.AppVersion .Values.image.tag) .Values.drainer.image.tag -}}
{{- printf "%s:%s" $repository $tag -}}
{{- end -}}

{{/*
A webhook entry's namespaceSelector: the one in values, and always the exclusion of kube-system and the release
namespace (the webhook's own pods never wait on themselves). Called with (list $ $selector).
*/}}
{{- define "eureka-drainer.namespaceSelector" -}}
{{- $root := index . 0 -}}
{{- $selector := deepCopy (index . 1) -}}
{{- $excluded := dict "key" "kubernetes.io/metadata.name" "operator" "NotIn" "values" (list "kube-system" $root.Release.Namespace) -}}
{{- $_ := set $selector "matchExpressions" (append (default (list) $selector.matchExpressions) $excluded) -}}
{{- toYaml $selector -}}
{{- end -}}

{{/*
An object from a file under files/ (the same files as k8s/), given the chart's name, namespace and labels.
Called with (dict "root" $ "object" $object "name" $name "labels" $extraLabels).
*/}}
{{- define "eureka-drainer.fromFile" -}}
{{- $root := .root -}}
{{- $object := deepCopy .object -}}
{{- $labels := merge (fromYaml (include "eureka-drainer.commonLabels" $root)) (default (dict) .labels) (default (dict) $object.metadata.labels) -}}
{{- $_ := set $object "metadata" (dict "name" .name "namespace" $root.Release.Namespace "labels" $labels) -}}
{{- toYaml $object -}}
{{- end -}}
