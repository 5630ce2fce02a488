#!/usr/bin/env bash
# The demo: migrate, a dev-only superuser admin/admin, the flaky upstream, runserver.
# Everything it creates stays in example_project/ (db.sqlite3). Ctrl-C stops both servers.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${DEMO_PYTHON:-$here/../.venv/bin/python}"
cd "$here"

"$python" manage.py migrate --noinput
"$python" manage.py shell -c '
from django.contrib.auth import get_user_model
User = get_user_model()
if not User.objects.filter(username="admin").exists():
    User.objects.create_superuser("admin", "admin@example.com", "admin")
    print("created the dev-only superuser admin / admin")
'

"$python" upstream.py --port 8001 &
upstream=$!
trap 'kill "$upstream" 2>/dev/null || true; wait "$upstream" 2>/dev/null || true' EXIT INT TERM

cat <<URLS

  Shop page (calls the upstream):   http://127.0.0.1:8000/
  Admin (admin / admin):            http://127.0.0.1:8000/admin/circuit_breaker_django/breaker/
  Health endpoint:                  http://127.0.0.1:8000/health/breakers/
  Prometheus metrics:               http://127.0.0.1:8000/metrics
  Upstream control (break it):      http://127.0.0.1:8001/   (or /control?fail=1.0)

  Set the upstream to 100% failure, reload the shop page three times: external_api opens,
  the page degrades, and about 20 s later one probe tries again. Pay twice while it is
  down: payment_gateway (critical) opens and the health endpoint answers 503.
  Ctrl-C stops everything.

URLS
"$python" manage.py runserver 127.0.0.1:8000 --noreload
