#!/usr/bin/env bash
# Project-local PostgreSQL and ClickHouse: install (only when missing), start (reusing running ones), wait, stop.
# Usage: scripts/stores.sh up|down|status|stop-clickhouse|start-clickhouse|restart-postgres <fast|immediate|smart> [pause-seconds]
# Data lives in .data/ (git-ignored). Ports are fixed per project and bound to 127.0.0.1.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${VOXCALLS_DATA_DIR:-$ROOT/.data}"
PG_PORT="${VOXCALLS_PG_PORT:-55432}"
CH_HTTP_PORT="${VOXCALLS_CH_HTTP_PORT:-58123}"
CH_TCP_PORT="${VOXCALLS_CH_TCP_PORT:-59000}"
PG_DIR="$DATA/pg"
CH_DIR="$DATA/clickhouse"

log() { echo "[stores] $*" >&2; }
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
apt_install() {
  if [ "$(id -u)" != 0 ]; then log "need root to apt-get install $*"; exit 1; fi
  log "installing $* with apt-get"
  # The index may be stale on a fresh machine; refresh once.
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

ensure_packages() {
  [ -n "$(pg_bin)" ] && [ -x "$(pg_bin)/initdb" ] || apt_install postgresql
  command -v clickhouse-server >/dev/null || [ -x /usr/sbin/clickhouse-server ] || apt_install clickhouse-server clickhouse-client
}

pg_up() {
  local bin; bin="$(pg_bin)"
  mkdir -p "$DATA"
  if [ ! -f "$PG_DIR/PG_VERSION" ]; then
    log "initialising PostgreSQL cluster in $PG_DIR"
    mkdir -p "$PG_DIR"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$PG_DIR"
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
  if [ -f "$PG_DIR/PG_VERSION" ] && as_postgres "$bin/pg_ctl" -D "$PG_DIR" status >/dev/null 2>&1; then
    log "stopping PostgreSQL"
    as_postgres "$bin/pg_ctl" -D "$PG_DIR" -m fast -w stop >/dev/null
  fi
}

# Restarts the local PostgreSQL (fault tests): stop in the given shutdown mode, stay down `pause` seconds, start.
pg_restart() {
  local bin mode="${1:-fast}" pause="${2:-0}"; bin="$(pg_bin)"
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
  start-clickhouse) ch_up ;;
  restart-postgres) pg_restart "${2:-fast}" "${3:-0}" ;;
  status) ch_answers && echo "clickhouse: up" || echo "clickhouse: down"
          "$(pg_bin)/pg_isready" -h 127.0.0.1 -p "$PG_PORT" -q && echo "postgres: up" || echo "postgres: down" ;;
  *) echo "usage: $0 up|down|status|stop-clickhouse|start-clickhouse|restart-postgres <mode> [pause]" >&2; exit 2 ;;
esac
