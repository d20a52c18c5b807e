# scripts/servers/influxdb.sh — InfluxDB 1.x for the integration tests of
# backends/influx, sourced by scripts/backend, which sets $dir (state: pid,
# log, config, data) and defines apt_install, no_packaged_service and die.
#
# Debian's influxdb package (1.6.7 on bookworm; no `influx` CLI, the tests
# use the HTTP API) installs in ~3 s. The server keeps its meta, data and
# wal directories in a fresh directory under $dir on every start and
# listens on 127.0.0.1 only:
#   18086 HTTP API (/ping, /write, /query)
#   18088 RPC (backup/restore), bound to loopback so nothing is exposed
# /ping answers 204 within a second of the start. The tests create their
# own databases with POST /query.

influxdb_port=18086
influxdb_rpc_port=18088

influxdb_install() {
	command -v influxd >/dev/null && return 0
	apt_install influxdb
	# The package may start its own server (all interfaces, :8086, data
	# in /var/lib/influxdb): stop it, so only ours runs.
	no_packaged_service influxdb
	command -v influxd >/dev/null || die "influxd missing after installing Debian's influxdb package"
}

influxdb_start() {
	rm -rf "$dir/meta" "$dir/data" "$dir/wal"
	cat >"$dir/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$influxdb_rpc_port"
[meta]
  dir = "$dir/meta"
[data]
  dir = "$dir/data"
  wal-dir = "$dir/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:$influxdb_port"
  log-enabled = false
[monitor]
  store-enabled = false
CONF
	influxd run -config "$dir/influxdb.conf" >"$dir/log" 2>&1 &
	echo $! >"$dir/pid"
}

influxdb_ready() { curl -sf -o /dev/null "$(influxdb_url)/ping"; }

influxdb_url() { echo "http://127.0.0.1:$influxdb_port"; }
