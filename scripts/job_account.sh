#!/usr/bin/env bash
# The unprivileged account a root worker runs jobs as (docs/jobs.md "Who a job runs as"), created if
# missing, and able to run the checkout's python in the checkout. Nothing to do for a worker that is
# not root (its jobs run as its own account) or when ATELIER_JOB_RUN_AS_USER names the account to use
# (the operator made it).
set -euo pipefail
cd "$(dirname "$0")/.."
account=${ATELIER_JOB_ACCOUNT_NAME:-atelier-job}  # the settings' default; tests pass their own name

[ "$(id -u)" -eq 0 ] || exit 0
[ -z "${ATELIER_JOB_RUN_AS_USER+set}" ] || exit 0

if ! id -u "$account" >/dev/null 2>&1; then
  # A system account with its own group, no home, no login shell: it owns nothing but a running job's outputs.
  useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$account"
  echo "created the account $account: a root worker runs jobs as it"
fi

# The job needs to pass through the folders above the venv's interpreter and the checkout (a python
# installed under /root, mode 0700, is out of its reach): an ACL lets this account pass (x), never list.
as_job() { setpriv --reuid "$account" --regid "$account" --clear-groups "$@"; }
python=.venv/bin/python
[ -x "$python" ] || exit 0
for target in "$(readlink -f "$python")" "$(pwd -P)/manage.py"; do
  folder=""
  for part in $(dirname "$target" | tr / ' '); do
    folder="$folder/$part"
    as_job test -x "$folder" && continue
    command -v setfacl >/dev/null || { echo "$account cannot pass through $folder: install acl (setfacl)" >&2; exit 1; }
    setfacl -m "u:$account:x" "$folder"
    echo "let $account pass through $folder"
  done
done
as_job "$python" -c "" || { echo "$account cannot run $python: jobs that use it will fail" >&2; exit 1; }
