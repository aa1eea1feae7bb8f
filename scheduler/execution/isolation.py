"""Who may read a job's folder when a root worker runs jobs as an unprivileged account (docs/jobs.md
"Who a job runs as").

While an attempt runs, its job's outputs folder belongs to the job's account (group: the portal's), and
nothing else under ATELIER_JOB_DATA_ROOT is open to it: the data root and the job's folder may be
passed through, not listed; the attempt's folder (its log, written through a descriptor the runner
opened) is closed to it. When the attempt ends its outputs go back to the portal's account, readable
by the portal's group and nobody else: a later job under the same account can neither list nor read
them. Jobs that run at the same time under one account share an identity and can reach each other's
running outputs; docs/jobs.md says how to give teams their own accounts.

Everything a job could have planted in its outputs (symlinks, hard links, FIFOs) is handled without
following it: ownership changes go through descriptors opened with O_NOFOLLOW, below a descriptor of
the outputs folder itself.
"""

import os
import pwd
import stat
from pathlib import Path

PASS_THROUGH = 0o711  # enter a known path, list nothing
PORTAL_ONLY_DIR = 0o750  # the portal's account, and its group (the web serves outputs)


def job_folder_open(*, data_root: Path, job_dir: Path, attempt_dir: Path, outputs: Path, user: str) -> None:
    """Before the attempt starts: its outputs (with what earlier attempts left there) to the job's account."""
    account = job_account(user)
    for folder in (data_root, job_dir):
        folder.chmod(PASS_THROUGH)
    attempt_dir.mkdir(parents=True, exist_ok=True)
    attempt_dir.chmod(PORTAL_ONLY_DIR)
    _tree_chown(outputs, uid=account.pw_uid, gid=os.getegid(), others_mask=0o777)


def job_account(user: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(user)
    except KeyError:
        raise OSError(f"this node has no account {user!r} to run jobs as (ATELIER_JOB_RUN_AS_USER)") from None


def job_folder_close(*, job_dir: Path, outputs: Path) -> None:
    """Once nothing of the attempt runs: its outputs back to the portal's account, closed to others."""
    if outputs.is_dir():
        _tree_chown(outputs, uid=os.geteuid(), gid=os.getegid(), others_mask=0o770)
    job_dir.chmod(PORTAL_ONLY_DIR)


def _tree_chown(root: Path, *, uid: int, gid: int, others_mask: int) -> None:
    """Owner and group of every entry under `root`, its group able to read, `others_mask` applied."""
    top = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        _entry_chown(top, uid=uid, gid=gid, others_mask=others_mask)
        for _, dirnames, filenames, dir_fd in os.fwalk(dir_fd=top, follow_symlinks=False):
            for name in dirnames + filenames:
                _name_chown(name, dir_fd=dir_fd, uid=uid, gid=gid, others_mask=others_mask)
    finally:
        os.close(top)


def _name_chown(name: str, *, dir_fd: int, uid: int, gid: int, others_mask: int) -> None:
    info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    if stat.S_ISLNK(info.st_mode):
        os.chown(name, uid, gid, dir_fd=dir_fd, follow_symlinks=False)
        return
    if not (stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)):
        return  # a FIFO or socket: nothing to read, never opened
    if stat.S_ISREG(info.st_mode) and info.st_nlink > 1:
        return  # may share its inode with a file outside the outputs; the closed job folder covers it
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    try:
        _entry_chown(fd, uid=uid, gid=gid, others_mask=others_mask)
    finally:
        os.close(fd)


def _entry_chown(fd: int, *, uid: int, gid: int, others_mask: int) -> None:
    mode = os.fstat(fd).st_mode
    group_read = 0o050 if stat.S_ISDIR(mode) else 0o040
    os.fchown(fd, uid, gid)
    os.fchmod(fd, (stat.S_IMODE(mode) | 0o700 * stat.S_ISDIR(mode) | group_read) & others_mask)
