#!/usr/bin/env bash
# Project-local PostgreSQL and ClickHouse: install (only when missing), start (reusing running ones), wait, stop.
# Usage: scripts/stores.sh up|down|status|stop-clickhouse|start-clickhouse|pg-dir|purge|restart-postgres <fast|immediate|smart> [pause-seconds]
# Data lives in .data/ (git-ignored). Ports are fixed per project and bound to 127.0.0.1.
# Run as root, PostgreSQL runs as the `postgres` user. When that user cannot pass through the checkout's parent
# directories (a mode-700 home, `mktemp -d`), the cluster lives in $VOXCALLS_PG_EXTERNAL_DIR/<key of .data>/pg
# (default /var/lib/postgresql/voxcalls/…) and .data/pg is a symlink to it. We never loosen the user's directories.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${VOXCALLS_DATA_DIR:-$ROOT/.data}"
PG_PORT="${VOXCALLS_PG_PORT:-55432}"
CH_HTTP_PORT="${VOXCALLS_CH_HTTP_PORT:-58123}"
CH_TCP_PORT="${VOXCALLS_CH_TCP_PORT:-59000}"
PG_EXTERNAL_BASE="$(readlink -m "${VOXCALLS_PG_EXTERNAL_DIR:-/var/lib/postgresql/voxcalls}")"
PG_LINK="$DATA/pg"
CH_DIR="$DATA/clickhouse"
# shellcheck source=lib/apt.sh
source "$ROOT/scripts/lib/apt.sh"

log() { echo "[stores] $*" >&2; }
is_root() { [ "$(id -u)" = 0 ]; }
as_postgres() {
  # From /: the postgres user may not be allowed into the caller's working directory.
  if is_root; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}
postgres_can_enter() { as_postgres test -x "$1" 2>/dev/null; }
apt_install() { apt_install_waiting stores "$@" || exit 1; }
# Where the cluster really is: .data/pg, or the directory it links to. Commands run as postgres get this path,
# since they may not be able to follow a link that sits inside the checkout.
pg_dir() { if [ -L "$PG_LINK" ]; then readlink -f "$PG_LINK" || readlink "$PG_LINK"; else echo "$PG_LINK"; fi; }
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

ensure_packages() {
  [ -n "$(pg_bin)" ] && [ -x "$(pg_bin)/initdb" ] || apt_install postgresql
  command -v clickhouse-server >/dev/null || [ -x /usr/sbin/clickhouse-server ] || apt_install clickhouse-server clickhouse-client
}

# Decides where a new cluster goes; an existing one (or an existing link) stays where it is.
place_pg_cluster() {
  mkdir -p "$DATA"
  is_root || return 0
  if [ -L "$PG_LINK" ]; then
    local target; target="$(pg_dir)"
    [ -d "$target" ] && return 0
    # Our own external home was removed (by hand): make it again; a link someone else made is theirs to fix.
    case "$target" in "$PG_EXTERNAL_BASE"/*/pg) make_postgres_home "$(dirname "$target")"; return 0 ;; esac
    log "$PG_LINK links to $target, which does not exist"
    exit 1
  fi
  if [ -f "$PG_LINK/PG_VERSION" ]; then
    postgres_can_enter "$PG_LINK" && return 0
    log "the PostgreSQL cluster in $PG_LINK cannot be reached by the postgres user (a parent directory is private)."
    log "move it out once: bash scripts/stores.sh down && mv $PG_LINK <dir postgres can enter> && ln -s <that dir> $PG_LINK"
    exit 1
  fi
  postgres_can_enter "$DATA" && return 0
  # An empty directory left by an earlier initdb that failed here is replaced by the link.
  if [ -d "$PG_LINK" ] && ! rmdir "$PG_LINK" 2>/dev/null; then
    log "$PG_LINK is not empty and has no cluster in it; move it away and run again"
    exit 1
  fi
  local key; key="$(printf '%s' "$(cd "$DATA" && pwd -P)" | sha256sum | cut -c1-16)"
  local home="$PG_EXTERNAL_BASE/$key"
  make_postgres_home "$home"
  ln -s "$home/pg" "$PG_LINK"
  log "the postgres user cannot enter $DATA; keeping the cluster in $home/pg (linked from $PG_LINK)"
}

# $PG_EXTERNAL_BASE/<key>/pg, owned by postgres, with a note saying which checkout it belongs to.
make_postgres_home() {
  local home="$1"
  mkdir -p "$home/pg"
  chown postgres:postgres "$PG_EXTERNAL_BASE" "$home" "$home/pg"
  chmod 700 "$home/pg"
  printf '%s\n' "$(cd "$DATA" && pwd -P)" > "$home/checkout"
  postgres_can_enter "$home/pg" || { log "the postgres user cannot enter $home/pg either; set VOXCALLS_PG_EXTERNAL_DIR"; exit 1; }
}

pg_up() {
  local bin; bin="$(pg_bin)"
  place_pg_cluster
  local PG_DIR; PG_DIR="$(pg_dir)"
  if [ ! -f "$PG_DIR/PG_VERSION" ]; then
    log "initialising PostgreSQL cluster in $PG_DIR"
    mkdir -p "$PG_DIR"
    is_root && chown postgres:postgres "$PG_DIR"
    chmod 700 "$PG_DIR"
    as_postgres "$bin/initdb" -D "$PG_DIR" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >> "$PG_DIR/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_DIR'
max_connections = 300
shared_buffers = 256MB
fsync = on
synchronous_commit = on
log_min_messages = warning
CONF
  fi
  if as_postgres "$bin/pg_ctl" -D "$PG_DIR" status >/dev/null 2>&1 || "$bin/pg_isready" -h 127.0.0.1 -p "$PG_PORT" -q; then
    # Ours, or another checkout's on the same project port: reuse it either way.
    log "PostgreSQL already running on 127.0.0.1:$PG_PORT"
  else
    log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    as_postgres "$bin/pg_ctl" -D "$PG_DIR" -l "$PG_DIR/server.log" -w -t 60 start >/dev/null
  fi
  for _ in $(seq 1 60); do
    "$bin/pg_isready" -h 127.0.0.1 -p "$PG_PORT" -q && break; sleep 0.5
  done
  for db in voxcalls voxcalls_test; do
    if ! "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc "select 1 from pg_database where datname='$db'" | grep -q 1; then
      "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "create database $db" >/dev/null
    fi
  done
}

ch_pidfile() { echo "$CH_DIR/clickhouse.pid"; }
ch_running() {
  local pf; pf="$(ch_pidfile)"
  [ -f "$pf" ] && kill -0 "$(cat "$pf")" 2>/dev/null
}
ch_answers() { curl -fsS "http://127.0.0.1:$CH_HTTP_PORT/ping" >/dev/null 2>&1; }

ch_up() {
  mkdir -p "$CH_DIR"/{data,tmp,user_files,format_schemas,log,etc}
  sed -e "s#__DATA__#$CH_DIR#g" -e "s#__HTTP_PORT__#$CH_HTTP_PORT#g" -e "s#__TCP_PORT__#$CH_TCP_PORT#g" \
    "$ROOT/clickhouse/server/config.xml" > "$CH_DIR/etc/config.xml"
  cp "$ROOT/clickhouse/server/users.xml" "$CH_DIR/etc/users.xml"
  if ch_running || ch_answers; then
    log "ClickHouse already running on 127.0.0.1:$CH_HTTP_PORT"
  else
    log "starting ClickHouse on 127.0.0.1:$CH_HTTP_PORT"
    # 18.16 writes no pid file unless daemonised, so record the pid of the background process ourselves.
    ( cd "$CH_DIR" && exec setsid nohup /usr/sbin/clickhouse-server --config-file="$CH_DIR/etc/config.xml" \
        >"$CH_DIR/log/stdout.log" 2>&1 ) &
    echo $! > "$(ch_pidfile)"
  fi
  for _ in $(seq 1 120); do ch_answers && break; sleep 0.5; done
  ch_answers || { log "ClickHouse did not answer; see $CH_DIR/log"; tail -20 "$CH_DIR/log/clickhouse-server.err.log" >&2 || true; exit 1; }
  for db in voxcalls voxcalls_test; do
    curl -fsS "http://127.0.0.1:$CH_HTTP_PORT/" --data-binary "CREATE DATABASE IF NOT EXISTS $db" >/dev/null
  done
}

ch_down() {
  # Fall back to the process running our config, in case the pid file is gone.
  if ! ch_running; then pgrep -f "clickhouse-server --config-file=$CH_DIR/etc/config.xml" | head -1 > "$(ch_pidfile)" || true; fi
  if ch_running; then
    local pid; pid="$(cat "$(ch_pidfile)")"
    log "stopping ClickHouse (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$(ch_pidfile)"
  fi
}
pg_down() {
  local bin; bin="$(pg_bin)"
  local PG_DIR; PG_DIR="$(pg_dir)"
  if [ -f "$PG_DIR/PG_VERSION" ] && as_postgres "$bin/pg_ctl" -D "$PG_DIR" status >/dev/null 2>&1; then
    log "stopping PostgreSQL"
    as_postgres "$bin/pg_ctl" -D "$PG_DIR" -m fast -w stop >/dev/null
  fi
}

# Restarts the local PostgreSQL (fault tests): stop in the given shutdown mode, stay down `pause` seconds, start.
pg_restart() {
  local bin mode="${1:-fast}" pause="${2:-0}"; bin="$(pg_bin)"
  local PG_DIR; PG_DIR="$(pg_dir)"
  case "$mode" in fast|immediate|smart) ;; *) log "restart-postgres: mode must be fast, immediate or smart"; exit 2 ;; esac
  [ -f "$PG_DIR/PG_VERSION" ] || { log "no local PostgreSQL in $PG_DIR"; exit 1; }
  log "restarting PostgreSQL (-m $mode, down ${pause}s)"
  if [ "$pause" = 0 ]; then
    as_postgres "$bin/pg_ctl" -D "$PG_DIR" -l "$PG_DIR/server.log" -m "$mode" -w -t 120 restart >/dev/null
  else
    as_postgres "$bin/pg_ctl" -D "$PG_DIR" -m "$mode" -w -t 60 stop >/dev/null
    sleep "$pause"
    as_postgres "$bin/pg_ctl" -D "$PG_DIR" -l "$PG_DIR/server.log" -w -t 120 start >/dev/null
  fi
}

case "${1:-up}" in
  up) ensure_packages; pg_up; ch_up
      echo "DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/voxcalls"
      echo "CLICKHOUSE_URL=http://127.0.0.1:$CH_HTTP_PORT/voxcalls" ;;
  down) ch_down; pg_down ;;
  stop-clickhouse) ch_down ;;
  pg-dir) pg_dir ;;
  purge)
    # Stops both servers and deletes this checkout's local data, including a cluster kept outside it.
    ch_down; pg_down
    if [ -L "$PG_LINK" ]; then
      home="$(dirname "$(pg_dir)")"
      case "$home" in "$PG_EXTERNAL_BASE"/*) log "removing $home"; rm -rf "$home" ;; esac
    fi
    if [ -z "${VOXCALLS_DATA_DIR:-}" ]; then
      log "removing $DATA"; rm -rf "$DATA"
    else
      # A data directory chosen by the caller may hold other things: remove only what this script made.
      log "removing the servers' data in $DATA"; rm -rf "$PG_LINK" "$CH_DIR"
    fi ;;
  start-clickhouse) ch_up ;;
  restart-postgres) pg_restart "${2:-fast}" "${3:-0}" ;;
  status) ch_answers && echo "clickhouse: up" || echo "clickhouse: down"
          "$(pg_bin)/pg_isready" -h 127.0.0.1 -p "$PG_PORT" -q && echo "postgres: up" || echo "postgres: down" ;;
  *) echo "usage: $0 up|down|status|stop-clickhouse|start-clickhouse|pg-dir|purge|restart-postgres <mode> [pause]" >&2; exit 2 ;;
esac
