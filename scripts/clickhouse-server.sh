#!/bin/sh
# Makes sure a ClickHouse server binary is installed for the server-backend
# tests and prints its path. On Debian/Ubuntu it installs Debian's
# clickhouse-server package (18.16 on bookworm, the oldest release tajo's
# DDL supports) with apt-get when missing. The package's own service is not
# started: the tests run the binary themselves on free loopback ports with
# their own config (sinks/clickhouse/chtest).
#
#   CLICKHOUSE_SERVER_BIN  use this binary instead (clickhouse-server, or
#                          the single upstream `clickhouse` binary)
set -eu

find_bin() {
	if [ -n "${CLICKHOUSE_SERVER_BIN:-}" ] && [ -x "$CLICKHOUSE_SERVER_BIN" ]; then
		echo "$CLICKHOUSE_SERVER_BIN"
		return 0
	fi
	for b in "$(command -v clickhouse-server 2>/dev/null || true)" /usr/sbin/clickhouse-server \
		/usr/bin/clickhouse-server "$(command -v clickhouse 2>/dev/null || true)" /usr/bin/clickhouse; do
		if [ -n "$b" ] && [ -x "$b" ]; then
			echo "$b"
			return 0
		fi
	done
	return 1
}

if find_bin; then
	exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
	echo "clickhouse-server.sh: no clickhouse-server and no apt-get; install ClickHouse and set CLICKHOUSE_SERVER_BIN" >&2
	exit 1
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
	sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y --no-install-recommends clickhouse-server >&2 ||
	{ $sudo apt-get update >&2 && $sudo apt-get install -y --no-install-recommends clickhouse-server >&2; }
find_bin || {
	echo "clickhouse-server.sh: installed clickhouse-server but found no binary" >&2
	exit 1
}
