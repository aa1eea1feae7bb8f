#!/usr/bin/env bash
# Back up an Atelier installation into one folder: the PostgreSQL database (pg_dump's custom format)
# and the files the database points at (MEDIA_ROOT: pictures, tiles, exports, model files; JOB_DATA_ROOT:
# job outputs). Usage: scripts/backup.sh DEST   (docs/deployment.md "Backup and restore").
# Reads DATABASE_URL, ATELIER_MEDIA_ROOT and ATELIER_JOB_DATA_ROOT as the services do (/etc/atelier/*.env).
# The database is dumped first: files written after it are harmless extras, while a row whose file
# is missing would be a broken link.
set -euo pipefail
dest=${1:?usage: scripts/backup.sh DEST}
: "${DATABASE_URL:?DATABASE_URL must name the PostgreSQL database (SQLite: copy var/ with the services stopped)}"
cd "$(dirname "$0")/.."
media=${ATELIER_MEDIA_ROOT:-var/media}
jobs=${ATELIER_JOB_DATA_ROOT:-var/jobs}
mkdir -p "$dest"
pg_dump --format=custom --no-owner --file "$dest/database.dump" "$DATABASE_URL"
tar --create --gzip --file "$dest/media.tar.gz" --directory "$media" .
# Job outputs only: staged inputs are copies of exports, runner files are host-local state.
if [ -d "$jobs" ]; then
  tar --create --gzip --file "$dest/jobs.tar.gz" --directory "$jobs" --exclude ./staged --exclude ./runners .
fi
(cd "$dest" && sha256sum ./*.dump ./*.tar.gz > SHA256SUMS)
echo "backup written to $dest: $(du -sh "$dest" | cut -f1)"
