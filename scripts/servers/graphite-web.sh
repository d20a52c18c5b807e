# scripts/servers/graphite-web.sh — graphite-web, the query side of
# Graphite, for the integration tests of backends/graphite and
# backends/statsd, sourced by scripts/backend.
#
# Django's server on 127.0.0.1:18080 with settings in $dir (sqlite tag
# database, fresh on every start), reading the whisper files of
# scripts/servers/carbon.sh ($OBSKIT_RUN_DIR/carbon/storage) and, through
# carbon's cache port 17002, the points not yet written. Debian's
# graphite-web 1.1 installs in ~20 s more than carbon. Tests read back
# through /render?format=json and seriesByTag.

graphite_web_port=18080

graphite-web_install() {
	apt_install graphite-carbon python3-whisper graphite-web
	no_packaged_service carbon-cache
	[ -d /usr/lib/python3/dist-packages/graphite ] || die "graphite-web missing (Debian graphite-web)"
}

graphite-web_start() {
	local storage=$run_dir/carbon/storage
	rm -f "$dir/graphite.db"
	mkdir -p "$dir/logs" "$storage/whisper"
	cat >"$dir/obskit_gweb_settings.py" <<PY
SECRET_KEY = 'obskit-test'
ALLOWED_HOSTS = ['127.0.0.1', 'localhost']
STORAGE_DIR = '$storage'
WHISPER_DIR = '$storage/whisper'
LOG_DIR = '$dir/logs'
INDEX_FILE = '$dir/index'
CARBONLINK_HOSTS = ['127.0.0.1:17002']
DATABASES = {'default': {'NAME': '$dir/graphite.db', 'ENGINE': 'django.db.backends.sqlite3'}}
TAGDB = 'graphite.tags.localdatabase.LocalDatabaseTagDB'
PY
	(
		export PYTHONPATH=$dir GRAPHITE_SETTINGS_MODULE=obskit_gweb_settings DJANGO_SETTINGS_MODULE=graphite.settings
		/usr/bin/python3 -m django migrate --run-syncdb >"$dir/migrate.log" 2>&1 || { cat "$dir/migrate.log" >&2; exit 1; }
		exec /usr/bin/python3 -m django runserver 127.0.0.1:$graphite_web_port --noreload 2>&1
	) >"$dir/log" 2>&1 &
	echo $! >"$dir/pid"
}

graphite-web_ready() { curl -sf -o /dev/null "$(graphite-web_url)/metrics/find?query=*"; }

graphite-web_url() { echo "http://127.0.0.1:$graphite_web_port"; }
