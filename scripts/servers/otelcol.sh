# scripts/servers/otelcol.sh — an OpenTelemetry Collector for the
# integration tests of backends/otlp, sourced by scripts/backend, which
# sets $dir (state: config, pid, log) and defines die.
#
# Jaeger v2 is an OpenTelemetry Collector distribution whose build
# includes the otlp receiver and the prometheus exporter, so this is the
# Jaeger binary of scripts/servers/jaeger.sh (built there when missing)
# run a second time with a config of its own: a metrics pipeline from
# OTLP to a Prometheus-format /metrics endpoint, which the Prometheus of
# scripts/servers/prometheus.sh scrapes as job "otelcol". No storage, no
# query service, internal telemetry off; its ports do not collide with
# the trace Jaeger's (4317, 4318, 16686, 16685, 13133, 8888).
#
# Listens on 127.0.0.1 only:
#   14317 OTLP/gRPC, 14318 OTLP/HTTP    what the tests export to
#   18889 prometheus exporter /metrics  what Prometheus scrapes
#   13134 health check (HTTP /status), 13135 the same over gRPC
# Ready in about a second.

# shellcheck source=/dev/null
source "$(dirname "${BASH_SOURCE[0]}")/jaeger.sh" # jaeger_install, jaeger_bin

otelcol_grpc=127.0.0.1:14317
otelcol_http=127.0.0.1:14318
otelcol_prom=127.0.0.1:18889
otelcol_health=127.0.0.1:13134
otelcol_health_grpc=127.0.0.1:13135 # healthcheckv2 always serves gRPC too

otelcol_install() { jaeger_install; }

otelcol_start() {
	cat >"$dir/config.yaml" <<YAML
receivers:
  otlp:
    protocols:
      grpc: {endpoint: $otelcol_grpc}
      http: {endpoint: $otelcol_http}
exporters:
  prometheus:
    endpoint: $otelcol_prom
extensions:
  healthcheckv2:
    use_v2: true
    http: {endpoint: $otelcol_health}
    grpc: {endpoint: $otelcol_health_grpc, transport: tcp}
service:
  extensions: [healthcheckv2]
  telemetry: {metrics: {level: none}}
  pipelines:
    metrics: {receivers: [otlp], exporters: [prometheus]}
YAML
	nohup "$jaeger_bin" --config="file:$dir/config.yaml" </dev/null >"$dir/log" 2>&1 &
	echo $! >"$dir/pid"
}

# otelcol_ready checks our own process too, so that another collector
# holding the ports is not taken for this one.
otelcol_ready() {
	kill -0 "$(cat "$dir/pid" 2>/dev/null)" 2>/dev/null &&
		curl -sf -o /dev/null "http://$otelcol_health/status" &&
		curl -sf -o /dev/null "$(otelcol_url)/metrics"
}

otelcol_url() { echo "http://$otelcol_prom"; }
