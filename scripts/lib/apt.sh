# Package installs that wait for another apt/dpkg run (unattended-upgrades, a second install) instead of failing
# at once. Sourced by scripts/stores.sh and scripts/ensure-deps.sh.
# VOXCALLS_APT_LOCK_TIMEOUT bounds the wait in seconds (default 300).
APT_LOCK_TIMEOUT="${VOXCALLS_APT_LOCK_TIMEOUT:-300}"

# apt_get_waiting <tag> <apt-get arguments…>: runs apt-get quietly; while another process holds the package
# manager's lock it says so and retries until the lock is free or the timeout passes.
apt_get_waiting() {
  local tag="$1"; shift
  local started now err said=0 next_note
  started="$(date +%s)"; next_note=$((started + 30))
  while :; do
    # Our own loop rather than apt's DPkg::Lock::Timeout alone: that option does not cover the lists lock of
    # `apt-get update`, and it waits silently when output goes to /dev/null.
    if err="$(DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=0 "$@" 2>&1 >/dev/null)"; then
      [ "$said" = 1 ] && echo "[$tag] package manager lock is free; continued" >&2
      return 0
    fi
    if ! grep -qE 'Could not get lock|Unable to lock|Unable to acquire the dpkg' <<<"$err"; then
      echo "$err" >&2
      return 1
    fi
    now="$(date +%s)"
    if [ $((now - started)) -ge "$APT_LOCK_TIMEOUT" ]; then
      echo "[$tag] gave up after ${APT_LOCK_TIMEOUT}s waiting for the package manager lock (VOXCALLS_APT_LOCK_TIMEOUT):" >&2
      echo "$err" >&2
      return 1
    fi
    local holder; holder="$(grep -oE 'held by process [0-9]+( \([^)]*\))?' <<<"$err" | head -1 || true)"
    if [ "$said" = 0 ]; then
      echo "[$tag] waiting for the package manager lock (another install is running)…${holder:+ ($holder)}" >&2
      said=1
    elif [ "$now" -ge "$next_note" ]; then
      echo "[$tag] still waiting for the package manager lock ($((now - started))s of ${APT_LOCK_TIMEOUT}s)…" >&2
      next_note=$((now + 30))
    fi
    sleep 2
  done
}

# apt_install_waiting <tag> <packages…>: refreshes the index once (it may be stale on a fresh machine), then installs.
apt_install_waiting() {
  local tag="$1"; shift
  if [ "$(id -u)" != 0 ]; then echo "[$tag] need root to apt-get install $*" >&2; return 1; fi
  echo "[$tag] installing $* with apt-get" >&2
  apt_get_waiting "$tag" update
  apt_get_waiting "$tag" install -y "$@"
}
