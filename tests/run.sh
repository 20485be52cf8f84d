#!/usr/bin/env bash
# The test command (README): installs everything the tests need on a fresh machine and runs every check.
# ruff, ruff format, mypy --strict, then pytest: the database tests on SQLite and PostgreSQL, the bus on
# Redis, the browser tests in Debian's Chromium. Extra arguments go to pytest (e.g. -k resume).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}

wait_for() {  # wait_for SECONDS COMMAND...: poll until the command succeeds
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS > deadline)); then echo "timed out waiting for: $*" >&2; return 1; fi
    sleep 0.5
  done
}

# PostgreSQL and Redis on loopback: start them when they are down (the machine's own packages)
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
  wait_for 30 pg_isready -q -h 127.0.0.1 -p 5432
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for 30 redis-cli -h 127.0.0.1 -p 6379 ping
fi

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser)
if [[ ! -x /usr/bin/chromium ]]; then
  echo "installing chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

# Debian's Dovecot: a real IMAP server for the IMAP polling tests (they start their own, on loopback)
if [[ ! -x /usr/sbin/dovecot ]]; then
  echo "installing dovecot-imapd"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null
fi

# the project and its test tools in .venv
[[ -x .venv/bin/python ]] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]' 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import app, starlette, playwright" # the install above must have worked

echo "== ruff (set-up took ${SECONDS} s)"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy --strict"
.venv/bin/mypy --strict app channels bots config
echo "== pytest (${SECONDS} s in)"
# one worker per core: the tests mostly wait on servers and sockets, and each has its own database and ports
exec .venv/bin/pytest -q -p no:cacheprovider -n auto "$@"
