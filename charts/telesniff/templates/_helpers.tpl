{{/* ---------- names and labels ---------- */}}

{{- define "telesniff.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "telesniff.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* A component's object name: <fullname>-<component>, within 63 characters. */}}
{{- define "telesniff.componentName" -}}
{{- $root := index . 0 }}{{- $component := index . 1 -}}
{{- printf "%s-%s" (include "telesniff.fullname" $root | trunc (int (sub 62 (len $component)))) $component | trimSuffix "-" }}
{{- end }}

{{- define "telesniff.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "telesniff.labels" -}}
helm.sh/chart: {{ include "telesniff.chart" . }}
app.kubernetes.io/name: {{ include "telesniff.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: telesniff
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Labels of one component: (list $ "gateway"). */}}
{{- define "telesniff.componentLabels" -}}
{{- $root := index . 0 }}{{- $component := index . 1 }}
{{- include "telesniff.labels" $root }}
app.kubernetes.io/component: {{ $component }}
{{- end }}

{{/* The immutable selector of one component: (list $ "gateway"). */}}
{{- define "telesniff.selectorLabels" -}}
{{- $root := index . 0 }}{{- $component := index . 1 -}}
app.kubernetes.io/name: {{ include "telesniff.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ $component }}
{{- end }}

{{/* The labels the operator puts on listener pods (operator/resources.py child_labels). */}}
{{- define "telesniff.listenerSelector" -}}
app.kubernetes.io/name: telesniff-listener
app.kubernetes.io/managed-by: telesniff-operator
{{- end }}

{{/* ---------- image ---------- */}}

{{- define "telesniff.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{- define "telesniff.listenerImage" -}}
{{- default (include "telesniff.image" .) .Values.operator.listener.image }}
{{- end }}

{{- define "telesniff.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ if kindIs "map" . }}{{ .name }}{{ else }}{{ . }}{{ end }}
{{- end }}
{{- end }}
{{- end }}

{{/* ---------- restricted pod security, in one place ---------- */}}

{{- define "telesniff.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurity.runAsUser }}
runAsGroup: {{ .Values.podSecurity.runAsGroup }}
fsGroup: {{ .Values.podSecurity.fsGroup }}
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "telesniff.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurity.runAsUser }}
runAsGroup: {{ .Values.podSecurity.runAsGroup }}
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* The writable /tmp every container gets (the root filesystem is read-only). */}}
{{- define "telesniff.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
{{- end }}

{{- define "telesniff.tmpVolumeMount" -}}
- name: tmp
  mountPath: /tmp
{{- end }}

{{/* nodeSelector / tolerations / affinity of a component's values. */}}
{{- define "telesniff.placement" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* ---------- connections ---------- */}}

{{- define "telesniff.redisName" -}}
{{- include "telesniff.componentName" (list . "redis") }}
{{- end }}

{{/* host:port of the built-in Redis, reachable from any namespace (listeners). */}}
{{- define "telesniff.redisAddress" -}}
{{- printf "%s.%s.svc:%d" (include "telesniff.redisName" .) .Release.Namespace (int .Values.redis.builtin.port) }}
{{- end }}

{{/* The Secret the chart writes for URLs and tokens given as plain values. */}}
{{- define "telesniff.secretName" -}}
{{- include "telesniff.componentName" (list . "config") }}
{{- end }}

{{/* TELESNIFF_REDIS_URL as an env entry. */}}
{{- define "telesniff.env.redis" -}}
{{- if eq .Values.redis.mode "builtin" }}
- name: TELESNIFF_REDIS_URL
  value: {{ printf "redis://%s/0" (include "telesniff.redisAddress" .) | quote }}
{{- else if .Values.redis.external.existingSecret.name }}
- name: TELESNIFF_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.redis.external.existingSecret.name }}
      key: {{ .Values.redis.external.existingSecret.key }}
{{- else }}
- name: TELESNIFF_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "telesniff.secretName" . }}
      key: redis-url
{{- end }}
{{- end }}

{{/* TELESNIFF_DATABASE_URL as an env entry (nothing: SQLite in /tmp). */}}
{{- define "telesniff.env.database" -}}
{{- if .Values.postgres.existingSecret.name }}
- name: TELESNIFF_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.postgres.existingSecret.name }}
      key: {{ .Values.postgres.existingSecret.key }}
{{- else if .Values.postgres.url }}
- name: TELESNIFF_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "telesniff.secretName" . }}
      key: database-url
{{- end }}
{{- end }}

{{/* Settings every process shares. */}}
{{- define "telesniff.env.common" -}}
{{- include "telesniff.env.redis" . }}
- name: TELESNIFF_STREAM
  value: {{ .Values.config.stream | quote }}
- name: TELESNIFF_CONSUMER_GROUP
  value: {{ .Values.config.consumerGroup | quote }}
- name: TELESNIFF_DEAD_LETTER_STREAM
  value: {{ .Values.config.deadLetterStream | quote }}
- name: TELESNIFF_LIVE_CHANNEL
  value: {{ .Values.config.liveChannel | quote }}
- name: TELESNIFF_LOG_LEVEL
  value: {{ .Values.config.logLevel | quote }}
- name: TELESNIFF_DATA_DIR
  value: /tmp/telesniff
{{- range $name, $value := .Values.config.extraEnv }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}

{{/* A component's extraEnv map as env entries. */}}
{{- define "telesniff.env.extra" -}}
{{- range $name, $value := . }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}

{{/* ---------- operator ---------- */}}

{{- define "telesniff.operatorName" -}}
{{- include "telesniff.componentName" (list . "operator") }}
{{- end }}

{{- define "telesniff.webhookServiceName" -}}
{{- include "telesniff.componentName" (list . "webhook") }}
{{- end }}

{{- define "telesniff.webhookCertSecret" -}}
{{- include "telesniff.componentName" (list . "webhook-tls") }}
{{- end }}

{{- define "telesniff.webhookServicePort" -}}
443
{{- end }}

{{/*
The name of the Validating- and MutatingWebhookConfiguration kopf manages: one name, in the
operator's environment and in the RBAC resourceNames alike.
*/}}
{{- define "telesniff.webhookConfigurationName" -}}
{{- default (printf "%s.chatgroups.telesniff.dev" (include "telesniff.fullname" .)) .Values.operator.webhook.configurationName }}
{{- end }}

{{/*
The webhook's certificate when Helm makes it: {crt, key, ca} (base64), reusing the Secret
already in the cluster so an upgrade keeps the CA the API server trusts. Include it once
per render (each include of a new certificate is a new key).
*/}}
{{- define "telesniff.webhookCert" -}}
{{- $secretName := include "telesniff.webhookCertSecret" . }}
{{- $service := include "telesniff.webhookServiceName" . }}
{{- $ns := .Release.Namespace }}
{{- $existing := lookup "v1" "Secret" $ns $secretName }}
{{- $data := ($existing | default dict).data | default dict }}
{{- if and (hasKey $data "tls.crt") (hasKey $data "tls.key") (hasKey $data "ca.crt") }}
crt: {{ index $data "tls.crt" }}
key: {{ index $data "tls.key" }}
ca: {{ index $data "ca.crt" }}
{{- else }}
{{- $days := int .Values.operator.webhook.certValidityDays }}
{{- $ca := genCA (printf "%s-webhook-ca" (include "telesniff.fullname" .)) $days }}
{{- $cert := genSignedCert (printf "%s.%s.svc" $service $ns) nil (include "telesniff.webhookDNSNames" . | fromYamlArray) $days $ca }}
crt: {{ $cert.Cert | b64enc }}
key: {{ $cert.Key | b64enc }}
ca: {{ $ca.Cert | b64enc }}
{{- end }}
{{- end }}

{{- define "telesniff.webhookDNSNames" -}}
{{- $service := include "telesniff.webhookServiceName" . }}
{{- $ns := .Release.Namespace }}
- {{ $service }}
- {{ printf "%s.%s" $service $ns }}
- {{ printf "%s.%s.svc" $service $ns }}
- {{ printf "%s.%s.svc.cluster.local" $service $ns }}
{{- end }}

{{- define "telesniff.peeringName" -}}
{{- default (include "telesniff.fullname" .) .Values.operator.peering.name }}
{{- end }}

{{/*
The operator's arguments: every namespace, or each watched one (operator.watchNamespaces).
*/}}
{{- define "telesniff.operator.args" -}}
- operator
{{- if .Values.operator.watchNamespaces }}
{{- range .Values.operator.watchNamespaces }}
- --namespace
- {{ . | quote }}
{{- end }}
{{- else }}
- --all-namespaces
{{- end }}
{{- end }}

{{/* Where the operator container mounts the webhook's TLS Secret. */}}
{{- define "telesniff.operator.webhookCertDir" -}}
/etc/telesniff/webhook
{{- end }}

{{/*
The listener variables the operator passes through: operator.listener.env plus every
config.extraEnv name (settings "for every process" reach the listeners too).
*/}}
{{- define "telesniff.operator.listenerEnv" -}}
{{- $names := list }}
{{- range .Values.operator.listener.env }}{{ $names = append $names . }}{{ end }}
{{- range $name, $_ := .Values.config.extraEnv }}{{ $names = append $names $name }}{{ end }}
{{- join "," ($names | uniq) }}
{{- end }}

{{/*
The operator's environment (operator/settings.py, TELESNIFF_OPERATOR_*): every name the
operator reads is set here and nowhere else. tests/k8s/test_operator.py runs the operator
with exactly this environment (and the ServiceAccount's RBAC below).
*/}}
{{- define "telesniff.operator.env" -}}
{{- $op := .Values.operator -}}
# kopf's peering identity (POD_ID) and the webhook Service's namespace (POD_NAMESPACE).
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: POD_ID
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
{{- include "telesniff.env.common" . }}
- name: TELESNIFF_OPERATOR_LISTENER_IMAGE
  value: {{ include "telesniff.listenerImage" . | quote }}
- name: TELESNIFF_OPERATOR_IMAGE_PULL_POLICY
  value: {{ .Values.image.pullPolicy | quote }}
- name: TELESNIFF_OPERATOR_LISTENER_ENV
  value: {{ include "telesniff.operator.listenerEnv" . | quote }}
{{- with $op.listener.envSecret }}
- name: TELESNIFF_OPERATOR_LISTENER_ENV_SECRET
  value: {{ . | quote }}
{{- end }}
- name: TELESNIFF_OPERATOR_LISTENER_UID
  value: {{ .Values.podSecurity.runAsUser | quote }}
# The listeners' /healthz and /metrics port (TELESNIFF_METRICS_PORT in their pods).
- name: TELESNIFF_OPERATOR_LISTENER_METRICS_PORT
  value: {{ $op.listener.metricsPort | quote }}
- name: TELESNIFF_OPERATOR_LISTENER_CPU_REQUEST
  value: {{ $op.listener.cpuRequest | quote }}
- name: TELESNIFF_OPERATOR_LISTENER_MEMORY_REQUEST
  value: {{ $op.listener.memoryRequest | quote }}
- name: TELESNIFF_OPERATOR_LISTENER_MEMORY_LIMIT
  value: {{ $op.listener.memoryLimit | quote }}
- name: TELESNIFF_OPERATOR_WEBHOOK_ENABLED
  value: {{ $op.webhook.enabled | quote }}
{{- if $op.webhook.enabled }}
{{- $certDir := include "telesniff.operator.webhookCertDir" . }}
- name: TELESNIFF_OPERATOR_WEBHOOK_PORT
  value: {{ $op.webhook.port | quote }}
- name: TELESNIFF_OPERATOR_WEBHOOK_CERT_FILE
  value: {{ printf "%s/tls.crt" $certDir | quote }}
- name: TELESNIFF_OPERATOR_WEBHOOK_KEY_FILE
  value: {{ printf "%s/tls.key" $certDir | quote }}
- name: TELESNIFF_OPERATOR_WEBHOOK_CA_FILE
  value: {{ printf "%s/ca.crt" $certDir | quote }}
- name: TELESNIFF_OPERATOR_WEBHOOK_SERVICE_NAME
  value: {{ include "telesniff.webhookServiceName" . | quote }}
- name: TELESNIFF_OPERATOR_WEBHOOK_SERVICE_NAMESPACE
  value: {{ .Release.Namespace | quote }}
- name: TELESNIFF_OPERATOR_WEBHOOK_SERVICE_PORT
  value: {{ include "telesniff.webhookServicePort" . | quote }}
# The same name is the only resourceName the operator may patch (telesniff.operator.clusterRules).
- name: TELESNIFF_OPERATOR_WEBHOOK_CONFIGURATION
  value: {{ include "telesniff.webhookConfigurationName" . | quote }}
- name: TELESNIFF_OPERATOR_WEBHOOK_FAILURE_POLICY
  value: {{ $op.webhook.failurePolicy | quote }}
{{- end }}
- name: TELESNIFF_OPERATOR_METRICS_PORT
  value: {{ $op.metricsPort | quote }}
- name: TELESNIFF_OPERATOR_LIVENESS_ENDPOINT
  value: {{ printf "http://0.0.0.0:%d/healthz" (int $op.healthPort) | quote }}
# The ClusterKopfPeering / KopfPeering objects of operator/peering.yaml; "" is standalone.
- name: TELESNIFF_OPERATOR_PEERING_NAME
  value: {{ if $op.peering.enabled }}{{ include "telesniff.peeringName" . | quote }}{{ else }}""{{ end }}
- name: TELESNIFF_OPERATOR_STATUS_INTERVAL_S
  value: {{ $op.statusIntervalSeconds | quote }}
- name: TELESNIFF_OPERATOR_LOG_LEVEL
  value: {{ .Values.config.logLevel | quote }}
{{- include "telesniff.env.extra" $op.extraEnv }}
{{- end }}

{{/*
What the operator may do: exactly what it uses (docs/operator.md shows the default
rendering; tests/k8s/test_operator.py runs the operator under these rules and nothing
else). Namespaced rules apply where ChatGroups live (every namespace, or each of
operator.watchNamespaces); cluster rules are for cluster-scoped resources. No delete
verbs: the garbage collector removes a deleted group's children. Adjust here only.
*/}}
{{- define "telesniff.operator.namespacedRules" -}}
# ChatGroups: watched, listed (shared sessions), annotated and finalized by kopf.
- apiGroups: [telesniff.dev]
  resources: [chatgroups]
  verbs: [get, list, watch, patch]
# The status the operator writes.
- apiGroups: [telesniff.dev]
  resources: [chatgroups/status]
  verbs: [patch]
# Children owned with blockOwnerDeletion need this where the API server enforces it
# (OwnerReferencesPermissionEnforcement).
- apiGroups: [telesniff.dev]
  resources: [chatgroups/finalizers]
  verbs: [update]
# The children: server-side apply (patch; create on the first apply) and watches; the
# StatefulSet is also read by name (status, shared sessions).
- apiGroups: [apps]
  resources: [statefulsets]
  verbs: [get, list, watch, create, patch]
- apiGroups: [""]
  resources: [configmaps]
  verbs: [list, watch, create, patch]
# Secrets: read by name only (do the Telegram keys a ChatGroup names exist?).
- apiGroups: [""]
  resources: [secrets]
  verbs: [get]
# kopf: Kubernetes Events for handler warnings and errors.
- apiGroups: [""]
  resources: [events]
  verbs: [create]
{{- end }}

{{- define "telesniff.operator.clusterRules" -}}
{{- $root := . -}}
# kopf: discovering resources at start and noticing CRD changes.
- apiGroups: [apiextensions.k8s.io]
  resources: [customresourcedefinitions]
  verbs: [list, watch]
{{- if .Values.operator.watchNamespaces }}
# kopf: following the watched namespaces as they come and go.
- apiGroups: [""]
  resources: [namespaces]
  verbs: [list, watch]
{{- else if .Values.operator.peering.enabled }}
# kopf peering, cluster-wide: one active replica, the others on standby.
- apiGroups: [kopf.dev]
  resources: [clusterkopfpeerings]
  verbs: [list, watch, patch]
{{- end }}
{{- if .Values.operator.webhook.enabled }}
# kopf: the managed webhook configurations. kopf creates a validating and a mutating one
# of the same name (the mutating one stays empty). Creation cannot be limited by name;
# patching can.
- apiGroups: [admissionregistration.k8s.io]
  resources: [validatingwebhookconfigurations, mutatingwebhookconfigurations]
  verbs: [create]
- apiGroups: [admissionregistration.k8s.io]
  resources: [validatingwebhookconfigurations, mutatingwebhookconfigurations]
  resourceNames: [{{ include "telesniff.webhookConfigurationName" $root | quote }}]
  verbs: [patch]
{{- end }}
{{- end }}

{{- define "telesniff.operator.peeringRules" -}}
# kopf peering in a watched namespace: one active replica, the others on standby.
- apiGroups: [kopf.dev]
  resources: [kopfpeerings]
  verbs: [list, watch, patch]
{{- end }}

{{/* A NetworkPolicy rule's `from` (nothing: from anywhere). */}}
{{- define "telesniff.np.from" -}}
{{- if . }}
from:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* ---------- checks ---------- */}}

{{- define "telesniff.validate" -}}
{{- $auto := .Values.consumer.autoscaling }}
{{- if and $auto.hpa.enabled $auto.keda.enabled }}
{{- fail "consumer.autoscaling: enable either hpa or keda, not both (both would scale the same Deployment)" }}
{{- end }}
{{- if and (eq .Values.redis.mode "external") (not .Values.redis.external.url) (not .Values.redis.external.existingSecret.name) }}
{{- fail "redis.mode=external needs redis.external.url or redis.external.existingSecret.name" }}
{{- end }}
{{- if and $auto.keda.enabled (eq .Values.redis.mode "external") (not $auto.keda.address) }}
{{- fail "consumer.autoscaling.keda.address (host:port of the external Redis) is required with redis.mode=external" }}
{{- end }}
{{- if and $auto.keda.enabled (not $auto.keda.lagCount) (not $auto.keda.pendingEntriesCount) }}
{{- fail "consumer.autoscaling.keda: set lagCount or pendingEntriesCount" }}
{{- end }}
{{- if and .Values.postgres.url .Values.postgres.existingSecret.name }}
{{- fail "postgres: give either url or existingSecret.name, not both" }}
{{- end }}
{{- if and .Values.gateway.apiTokens .Values.gateway.existingTokenSecret.name }}
{{- fail "gateway: give either apiTokens or existingTokenSecret.name, not both" }}
{{- end }}
{{- end }}
