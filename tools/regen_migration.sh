#!/usr/bin/env bash
# Until the first release, the schema lives in one initial migration, regenerated from the models.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f migrations/versions/*.py
DATABASE_URL="sqlite:///$tmp/empty.sqlite3" FLASK_APP=wsgi.py .venv/bin/flask db migrate -m "initial schema" --rev-id 0001 >/dev/null
rm -rf "$tmp"
ls migrations/versions
