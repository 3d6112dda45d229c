#!/usr/bin/env bash
# Install pgvector into the machine's PostgreSQL when `create extension vector` is not available.
# Debian 12 has no pgvector package; Debian 13 (trixie) has its source package, which builds against
# Debian 12's postgresql-server-dev-<major> in about half a minute. The trixie deb-src line lives in
# a private sources list, so the machine's own apt configuration is left as it was.
set -euo pipefail

pg_major="${1:-$(ls /etc/postgresql | sort -n | tail -1)}"
if [ -f "/usr/share/postgresql/${pg_major}/extension/vector.control" ]; then
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
work="$(mktemp -d /tmp/pgvector-build.XXXXXX)"
trap 'rm -rf "$work"' EXIT

# The mirror the machine already uses (deb822 .sources or a one-line sources.list).
mirror="$(grep -rhoE '^(URIs:[[:space:]]*|deb[[:space:]]+(\[[^]]*\][[:space:]]+)?)https?://[^[:space:]]+/debian/?' \
  /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | grep -oE 'https?://[^[:space:]]+' | head -1 || true)"
mirror="${mirror:-http://deb.debian.org/debian}"

mkdir -p "$work/lists/partial"
echo "deb-src ${mirror%/} trixie main" > "$work/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$work/lists" -o APT::Sandbox::User=root)

if ! dpkg -s "postgresql-server-dev-${pg_major}" dpkg-dev make gcc >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "postgresql-server-dev-${pg_major}" dpkg-dev make gcc >/dev/null
fi
apt-get "${apt_opts[@]}" update -qq
(cd "$work" && apt-get "${apt_opts[@]}" source --download-only -qq pgvector >/dev/null)
tarball="$(ls "$work"/pgvector_*.orig.tar.* | head -1)"
mkdir "$work/src"
tar -xf "$tarball" -C "$work/src" --strip-components=1
make -s -C "$work/src" PG_CONFIG="/usr/lib/postgresql/${pg_major}/bin/pg_config" >/dev/null
make -s -C "$work/src" PG_CONFIG="/usr/lib/postgresql/${pg_major}/bin/pg_config" install >/dev/null
echo "pgvector installed for PostgreSQL ${pg_major}" >&2
