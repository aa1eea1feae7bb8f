#!/usr/bin/env bash
# Restore a backup made by scripts/backup.sh into an EMPTY database and empty folders, then bring the
# schema up to this checkout's migrations. Usage: scripts/restore.sh SRC
# (docs/deployment.md "Backup and restore"). Stop web, workers, beat and agents first.
set -euo pipefail
src=${1:?usage: scripts/restore.sh SRC}
: "${DATABASE_URL:?DATABASE_URL must name the (empty) PostgreSQL database to restore into}"
cd "$(dirname "$0")/.."
media=${ATELIER_MEDIA_ROOT:-var/media}
jobs=${ATELIER_JOB_DATA_ROOT:-var/jobs}
(cd "$src" && sha256sum --check --quiet SHA256SUMS) || { echo "restore: $src fails its checksums" >&2; exit 1; }
for folder in "$media" "$jobs"; do
  if [ -d "$folder" ] && [ -n "$(ls -A "$folder")" ]; then
    echo "restore: $folder is not empty; restore into empty folders (move the old ones aside)" >&2
    exit 1
  fi
done
pg_restore --exit-on-error --no-owner --single-transaction --dbname "$DATABASE_URL" "$src/database.dump"
mkdir -p "$media" "$jobs"
chmod 700 "$media"
tar --extract --gzip --file "$src/media.tar.gz" --directory "$media"
[ ! -f "$src/jobs.tar.gz" ] || tar --extract --gzip --file "$src/jobs.tar.gz" --directory "$jobs"
.venv/bin/python manage.py migrate --noinput
echo "restored from $src into $DATABASE_URL"
