"""Safe ingestion of images, archives and URLs: pure Python (Pillow, stdlib, httpx), no Django.

Called by labeling's services and Celery tasks; every function takes an `IngestLimits` built
from the settings, and says no with a `Refusal` (code, reason, limit). See docs/ingest.md.

- limits.IngestLimits                        the docs/decisions.md §7 limits
- refusals.Refusal                           why something was refused; `limit` set means 413
- images.check_file_count / check_header     cheap checks for the upload request
- images.normalize                           full decode and re-encode, in the worker
- images.canonical_image                     the same pixels without the re-encode (model serving)
- names.safe_file_name                       stored name + display name for a client's name
- names.is_os_junk                           __MACOSX/, ._*, .DS_Store, Thumbs.db, desktop.ini: ignored
- archives.archive_entries                   zip/tar entries, checked, never extracted by path
- remote.check_url / fetch_url               URL import that cannot reach private addresses
- tiles.write_deep_zoom                      DZI pyramid + thumbnail, published atomically
- fingerprints.dhash / hamming_distance      near-duplicate detection
"""
