"""The limits every ingestion path enforces (docs/decisions.md §7); built once from the Django settings."""

from dataclasses import dataclass

MiB = 1024 * 1024
GiB = 1024 * MiB


@dataclass(frozen=True)
class IngestLimits:
    """Limits passed in by the caller; the defaults are the ones docs/decisions.md §7 names.

    The last four are not in §7: they bound what §7 implies (an archive that expands 1,000
    times is a bomb even under 2 GiB; a URL import must end) and are documented in docs/ingest.md.
    """

    max_file_bytes: int = 50 * MiB
    max_files_per_request: int = 100
    max_image_pixels: int = 100_000_000
    max_image_side: int = 150_000
    max_archive_entries: int = 2_000
    max_archive_expanded_bytes: int = 2 * GiB
    # Line art saved as BMP zips about 20-60x; 200x with over 1 MiB expanded is a bomb, not art.
    max_archive_compression_ratio: int = 200
    max_url_redirects: int = 3
    url_total_seconds: float = 60.0
    url_connect_seconds: float = 5.0
