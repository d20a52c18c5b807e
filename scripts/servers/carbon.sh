# scripts/servers/carbon.sh — Graphite's carbon-cache for the integration
# tests of backends/graphite and backends/statsd, sourced by
# scripts/backend.
#
# Plaintext line receiver on 127.0.0.1:12003 (pickle 12004, cache query
# 17002, where graphite-web reads points not yet on disk), whisper files
# under $dir/storage (graphite-web.sh reads the same directory), one
# retention of 1s:1h for every series, tags enabled and registered with
# graphite-web at 127.0.0.1:18080 (start graphite-web first: carbon posts
# each new tagged series there). Debian's graphite-carbon 1.1 installs in
# ~13 s; the line port answers ~2 s after start. One point per series and
# second is kept: a second write in the same second replaces the first.

carbon_port=12003
carbon_web_port=18080

carbon_install() {
	apt_install graphite-carbon python3-whisper
	no_packaged_service carbon-cache
	command -v carbon-cache >/dev/null || die "carbon-cache missing (Debian graphite-carbon)"
}

carbon_start() {
	rm -rf "$dir/storage"
	mkdir -p "$dir/storage/whisper" "$dir/storage/lists" "$dir/logs"
	cat >"$dir/carbon.conf" <<CONF
[cache]
STORAGE_DIR = $dir/storage
LOCAL_DATA_DIR = $dir/storage/whisper
WHITELISTS_DIR = $dir/storage/lists
LOG_DIR = $dir/logs
PID_DIR = $dir
USER =
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = inf
MAX_CREATES_PER_MINUTE = inf
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = $carbon_port
ENABLE_UDP_LISTENER = False
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = 12004
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = 17002
ENABLE_TAGS = True
GRAPHITE_URL = http://127.0.0.1:$carbon_web_port
TAG_UPDATE_INTERVAL = 1
TAG_BATCH_SIZE = 100
TAG_QUEUE_SIZE = 100000
CONF
	# carbon reads storage-schemas.conf from its config file's directory.
	printf '[default]\npattern = .*\nretentions = 1s:1h\n' >"$dir/storage-schemas.conf"
	carbon-cache --config="$dir/carbon.conf" --pidfile="$dir/carbon.pid" --nodaemon --logfile=- start \
		>"$dir/log" 2>&1 &
	echo $! >"$dir/pid"
}

carbon_ready() { (exec 3<>/dev/tcp/127.0.0.1/$carbon_port) 2>/dev/null; }

carbon_url() { echo "tcp://127.0.0.1:$carbon_port"; }
