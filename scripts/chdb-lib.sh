#!/bin/sh
# Fetches libchdb.so (the embedded ClickHouse engine that chdb:// DSNs load)
# once into a cache directory and prints the library's absolute path, so a
# Makefile can do: export CHDB_LIB_PATH=$(scripts/chdb-lib.sh).
#
# The library ships in chDB's npm platform packages; `npm pack` downloads the
# tarball without installing anything. Re-runs reuse the cached copy.
#
#   CHDB_CACHE_DIR   where to keep it (default: <repo>/.cache/chdb)
#   CHDB_NPM_VERSION the package version (default: 26.5.3 on linux/amd64,
#                    the one tajo is tested with; latest elsewhere)
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${CHDB_CACHE_DIR:-$repo/.cache/chdb}

case "$(uname -s)/$(uname -m)" in
Linux/x86_64) pkg=@chdb/lib-linux-x64-gnu lib=libchdb.so tested=26.5.3 ;;
Linux/aarch64 | Linux/arm64) pkg=@chdb/lib-linux-arm64-gnu lib=libchdb.so ;;
Darwin/arm64) pkg=@chdb/lib-darwin-arm64 lib=libchdb.dylib ;;
Darwin/x86_64) pkg=@chdb/lib-darwin-x64 lib=libchdb.dylib ;;
*)
	echo "chdb-lib.sh: no chDB library package for $(uname -s)/$(uname -m)" >&2
	exit 1
	;;
esac

version=${CHDB_NPM_VERSION:-${tested:-latest}}
dir=$cache/$version
out=$dir/$lib
if [ -s "$out" ]; then
	echo "$out"
	exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
	echo "chdb-lib.sh: npm is needed to fetch $pkg (apt-get install -y npm)" >&2
	exit 1
fi

mkdir -p "$dir"
work=$(mktemp -d "$dir/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
# npm notices go to stderr; stdout is the tarball name only.
tgz=$(cd "$work" && npm pack --silent "$pkg@$version" | tail -n 1)
tar -xzf "$work/$tgz" -C "$work" "package/$lib"
# Rename into place last so an interrupted fetch never leaves a truncated
# library that a later run would take for a good one.
mv "$work/package/$lib" "$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
