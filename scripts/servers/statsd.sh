# scripts/servers/statsd.sh — the Etsy statsd daemon 0.9.0 for the
# integration tests of backends/statsd (and dogstatsd), sourced by
# scripts/backend.
#
# UDP and TCP (statsd's servers/tcp) on 127.0.0.1:18125, management TCP
# on 18126 (the tests send it "health"), flushing every 2 s into scripts/servers/carbon.sh's line
# receiver (127.0.0.1:12003) with the non-legacy namespace:
# stats.counters.<key>.count, stats.gauges.<key>, stats.timers.<key>.count,
# .sum, .upper_90 … Two seconds, not one, so that no two flushes land in
# the same second of carbon's 1 s retention. Installed from npm into
# /var/cache/obskit/statsd (outside the repository) with Debian's nodejs
# when node is missing; ready when its log says "server is up".

statsd_port=18125
statsd_home=${OBSKIT_STATSD_HOME:-/var/cache/obskit/statsd}

statsd_install() {
	command -v node >/dev/null || apt_install nodejs
	command -v npm >/dev/null || apt_install npm
	if [ ! -f "$statsd_home/node_modules/statsd/stats.js" ]; then
		mkdir -p "$statsd_home"
		(cd "$statsd_home" && npm install --no-audit --no-fund --silent statsd@0.9.0 >/dev/null) \
			|| die "npm install statsd@0.9.0 failed"
	fi
}

statsd_start() {
	# statsd 0.9 opens its UDP socket with the kernel's default receive
	# buffer (208 KiB on Debian), which a burst of a few thousand values
	# overflows on a loaded machine: the kernel drops them (RcvbufErrors)
	# and the tests read back short counts. As root, raise the default to
	# 8 MiB for sockets made from now on; it only ever lowers loss.
	if [ "$(id -u)" -eq 0 ] && [ "$(sysctl -n net.core.rmem_default 2>/dev/null || echo 0)" -lt 8388608 ]; then
		sysctl -qw net.core.rmem_default=8388608 || echo "statsd: could not raise net.core.rmem_default; bursts of UDP may be dropped" >&2
	fi
	cat >"$dir/config.js" <<JS
{ servers: [ { server: "./servers/udp", address: "127.0.0.1", port: $statsd_port },
             { server: "./servers/tcp", address: "127.0.0.1", port: $statsd_port } ],
  mgmt_address: "127.0.0.1", mgmt_port: 18126,
  flushInterval: 2000, percentThreshold: [50, 90, 99],
  backends: ["./backends/graphite"],
  graphiteHost: "127.0.0.1", graphitePort: 12003,
  graphite: { legacyNamespace: false } }
JS
	(cd "$statsd_home/node_modules/statsd" && exec node stats.js "$dir/config.js") >"$dir/log" 2>&1 &
	echo $! >"$dir/pid"
}

statsd_ready() { grep -q 'server is up' "$dir/log"; }

statsd_url() { echo "udp://127.0.0.1:$statsd_port"; }
