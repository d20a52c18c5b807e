# scripts/servers/jaeger.sh — Jaeger (v2, all-in-one, in-memory storage),
# the trace backend of the tracing package's integration test. Sourced by
# scripts/backend, which sets $dir (state: pid, log) and defines die.
#
# Jaeger publishes no Debian package, so it is built from its Go module
# (the module's v1.76.0 tag is the Jaeger v2 binary) in a throwaway module
# kept outside the repository, and only when the binary is missing:
#   ${OBSKIT_CACHE:-/var/cache/obskit}/jaeger/jaeger-<version>
# A cold build takes ~8-9 minutes on 2 cores, a build with warm Go module
# and build caches under a minute; CI should cache GOMODCACHE, GOCACHE and
# OBSKIT_CACHE. OBSKIT_JAEGER_BIN names a prebuilt binary to use instead.
#
# Listens on 127.0.0.1 only:
#   4317 OTLP/gRPC, 4318 OTLP/HTTP (what the tests send to)
#   16686 query HTTP API and UI (what the tests read back from), 16685 query gRPC
#   13133 health check, 8888 internal metrics

jaeger_version=${JAEGER_VERSION:-v1.76.0}
jaeger_cache=${OBSKIT_CACHE:-/var/cache/obskit}/jaeger
jaeger_bin=${OBSKIT_JAEGER_BIN:-$jaeger_cache/jaeger-$jaeger_version}

jaeger_install() {
	[ -x "$jaeger_bin" ] && return 0
	[ -z "${OBSKIT_JAEGER_BIN:-}" ] || die "OBSKIT_JAEGER_BIN=$OBSKIT_JAEGER_BIN is not an executable"
	command -v go >/dev/null || die "jaeger: need the go command to build Jaeger $jaeger_version"
	mkdir -p "$jaeger_cache/build" || die "jaeger: cannot create $jaeger_cache; set OBSKIT_CACHE to a writable directory"
	echo "jaeger: building $jaeger_version into $jaeger_bin (minutes when the Go caches are cold; log $jaeger_cache/build.log)"
	if ! (
		cd "$jaeger_cache/build" &&
			export GOFLAGS=-modcacherw &&
			{ [ -f go.mod ] || go mod init jb; } &&
			go get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@$jaeger_version" &&
			go build -o "$jaeger_bin.tmp" github.com/jaegertracing/jaeger/cmd/jaeger
	) >"$jaeger_cache/build.log" 2>&1; then
		tail -n 20 "$jaeger_cache/build.log" >&2
		die "jaeger: build of $jaeger_version failed (log $jaeger_cache/build.log)"
	fi
	mv "$jaeger_bin.tmp" "$jaeger_bin"
}

jaeger_start() {
	JAEGER_LISTEN_HOST=127.0.0.1 nohup "$jaeger_bin" \
		--set=extensions.jaeger_query.http.endpoint=127.0.0.1:16686 \
		--set=extensions.jaeger_query.grpc.endpoint=127.0.0.1:16685 \
		</dev/null >"$dir/log" 2>&1 &
	echo $! >"$dir/pid"
}

# jaeger_ready checks our own process too, so that another Jaeger holding
# the ports is not taken for this one.
jaeger_ready() {
	kill -0 "$(cat "$dir/pid" 2>/dev/null)" 2>/dev/null &&
		curl -sf -o /dev/null http://127.0.0.1:13133/status &&
		curl -sf -o /dev/null http://127.0.0.1:16686/api/services
}

jaeger_url() { echo http://127.0.0.1:16686; }
