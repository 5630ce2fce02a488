#!/usr/bin/env bash
# The demo: migrate, a dev-only superuser admin/admin, the flaky upstream, runserver.
# Everything it creates stays in example_project/ (db.sqlite3). Ctrl-C stops both servers.
# PORT (the shop, default 8000) and UPSTREAM_PORT (the upstream, default 8001) move them;
# both are checked before anything starts.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${DEMO_PYTHON:-$here/../.venv/bin/python}"
port="${PORT:-8000}"
upstream_port="${UPSTREAM_PORT:-8001}"
cd "$here"

"$python" check_ports.py "$port" "$upstream_port" || exit 1

"$python" manage.py migrate --noinput
"$python" manage.py shell -c '
from django.contrib.auth import get_user_model
User = get_user_model()
if not User.objects.filter(username="admin").exists():
    User.objects.create_superuser("admin", "admin@example.com", "admin")
    print("created the dev-only superuser admin / admin")
'

"$python" upstream.py --port "$upstream_port" &
upstream=$!
trap 'kill "$upstream" 2>/dev/null || true; wait "$upstream" 2>/dev/null || true' EXIT INT TERM

# The banner only once the upstream listens; if it could not (it says why), stop here.
for _ in $(seq 100); do
    if ! kill -0 "$upstream" 2>/dev/null; then
        echo "make demo: the upstream did not start (see above); nothing else was started." >&2
        exit 1
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$upstream_port") 2>/dev/null; then
        break
    fi
    sleep 0.1
done

cat <<URLS

  Shop page (calls the upstream):   http://127.0.0.1:$port/
  Admin (admin / admin):            http://127.0.0.1:$port/admin/circuit_breaker_django/breaker/
  Health endpoint:                  http://127.0.0.1:$port/health/breakers/
  Prometheus metrics:               http://127.0.0.1:$port/metrics
  Upstream control (break it):      http://127.0.0.1:$upstream_port/   (or /control?fail=1.0)

  Set the upstream to 100% failure, reload the shop page three times: external_api opens,
  the page degrades, and about 20 s later one probe tries again. Pay twice while it is
  down: payment_gateway (critical) opens and the health endpoint answers 503.
  Ctrl-C stops everything.

URLS
DEMO_UPSTREAM_URL="http://127.0.0.1:$upstream_port" \
    "$python" manage.py runserver "127.0.0.1:$port" --noreload
