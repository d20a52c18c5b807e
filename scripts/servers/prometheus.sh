# scripts/servers/prometheus.sh — a Prometheus server for the integration
# tests of backends/prometheus, sourced by scripts/backend.
#
# It listens on 127.0.0.1:19090 (OBSKIT_PROMETHEUS_PORT overrides it, to
# run a second one beside it with another OBSKIT_RUN_DIR), keeps its data
# in a fresh directory under $dir on every start, stores exemplars, and
# scrapes every second:
#   job "obskit":  127.0.0.1:19101, the one fixed loopback target where the
#                  prometheus integration test serves obskit's handler; it
#                  is down except while that test runs;
#   job "otelcol": 127.0.0.1:18889, the prometheus exporter of the
#                  collector of scripts/servers/otelcol.sh, which the otlp
#                  integration test exports to.
# Debian's package (2.42 on bookworm) installs in ~16 s; the first scrape
# lands ~5 s after start, so tests poll /api/v1/query.

prometheus_port=${OBSKIT_PROMETHEUS_PORT:-19090}
prometheus_target=127.0.0.1:19101
prometheus_otelcol_target=127.0.0.1:18889

prometheus_install() {
	apt_install prometheus
	# The package starts its own server (all interfaces, :9090, its own
	# data) and recommends node-exporter: stop and disable both. Where
	# there is no systemd, kill what its init scripts left running: every
	# process of the packages' own "prometheus" user, which this script
	# never runs as.
	no_packaged_service prometheus prometheus-node-exporter
	if [ "$(id -un)" != prometheus ] && id prometheus >/dev/null 2>&1; then
		local pids
		pids=$(pgrep -u prometheus || true)
		if [ -n "$pids" ]; then
			echo "stopping the packaged Prometheus processes: $pids" >&2
			# shellcheck disable=SC2086
			kill $pids 2>/dev/null || true
		fi
	fi
	command -v promtool >/dev/null || die "promtool missing (it ships in Debian's prometheus package)"
}

prometheus_start() {
	rm -rf "$dir/data"
	mkdir -p "$dir/data"
	cat >"$dir/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: obskit
    static_configs:
      - targets: ['$prometheus_target']
  - job_name: otelcol
    static_configs:
      - targets: ['$prometheus_otelcol_target']
YML
	prometheus --config.file="$dir/prometheus.yml" \
		--storage.tsdb.path="$dir/data" \
		--web.listen-address=127.0.0.1:$prometheus_port \
		--enable-feature=exemplar-storage \
		>"$dir/log" 2>&1 &
	echo $! >"$dir/pid"
}

prometheus_ready() { curl -sf "$(prometheus_url)/-/ready"; }

prometheus_url() { echo "http://127.0.0.1:$prometheus_port"; }
