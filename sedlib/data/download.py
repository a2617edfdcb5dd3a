"""Verified, resumable HTTP downloads.

A download goes to ``<name>.part`` and becomes ``<name>`` only after its
size and checksum match; an interrupted download resumes from the
``.part`` file with an HTTP Range request; a checksum mismatch removes the
partial file and raises :class:`ChecksumError`. No corrupt file is ever left
under the final name. A server that accepts the connection but sends
nothing for ``stall_timeout`` seconds counts as a stall: it is reported
at once and retried, never waited on in silence.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

from sedlib.errors import SedlibError

log = logging.getLogger(__name__)

CHUNK = 1 << 20


class ChecksumError(SedlibError, RuntimeError):
    """A downloaded file does not match its published checksum or size."""


class DownloadError(SedlibError, RuntimeError):
    """A download failed after its retries; the partial file is kept for resuming."""


def verify(
    path: Path, *, md5: str | None = None, sha256: str | None = None, size: int | None = None
) -> None:
    """Raise :class:`ChecksumError` unless ``path`` has the given size and digests."""
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        raise ChecksumError(f"{path.name}: size {actual_size} bytes, expected {size}")
    for algorithm, expected in (("md5", md5), ("sha256", sha256)):
        if expected:
            with open(path, "rb") as handle:
                actual = hashlib.file_digest(handle, algorithm).hexdigest()
            if actual.lower() != expected.lower():
                raise ChecksumError(f"{path.name}: {algorithm} {actual}, expected {expected}")


def download(
    url: str,
    dest: str | Path,
    *,
    md5: str | None = None,
    sha256: str | None = None,
    size: int | None = None,
    retries: int = 3,
    stall_timeout: float = 30.0,
    progress: bool = True,
) -> Path:
    """Download ``url`` to ``dest``, resuming a partial download, and verify it.

    Parameters
    ----------
    url : str
        HTTP(S) address.
    dest : path-like
        Final path; ``dest.part`` holds the download in progress.
    md5, sha256 : str, optional
        Expected digests (hex).
    size : int, optional
        Expected size in bytes.
    retries : int
        Further attempts after a broken or stalled connection, each resuming
        where the last stopped.
    stall_timeout : float
        Seconds without a byte from the server (connecting included) after
        which the attempt is abandoned as stalled.
    progress : bool
        Show a progress bar.

    Returns
    -------
    pathlib.Path
        ``dest``, verified.

    Raises
    ------
    ChecksumError
        The finished download does not match; the partial file is removed.
    DownloadError
        The server could not be reached or kept failing; the partial file stays
        so that the next call resumes.
    """
    dest = Path(dest)
    if dest.is_file():
        verify(dest, md5=md5, sha256=sha256, size=size)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    last_error: Exception | None = None
    for attempt in range(retries + 1):
        try:
            _fetch(url, part, size, stall_timeout, progress)
            break
        except (urllib.error.URLError, OSError, ConnectionError) as err:
            last_error = _describe_failure(err, stall_timeout)
            log.warning(
                "%s: %s (attempt %d of %d)%s",
                url,
                last_error,
                attempt + 1,
                retries + 1,
                "; retrying" if attempt < retries else "",
            )
            if attempt < retries:
                time.sleep(min(2**attempt, 10) * 0.1)
    else:
        raise DownloadError(
            f"downloading {url} failed after {retries + 1} attempts (last: {last_error}); "
            f"{part.stat().st_size if part.exists() else 0} bytes are kept in {part} and the next run resumes"
        ) from None
    try:
        verify(part, md5=md5, sha256=sha256, size=size)
    except ChecksumError as err:
        part.unlink(missing_ok=True)
        raise ChecksumError(
            f"{url}: {err}; the partial file was removed, run again to download it anew"
        ) from None
    part.replace(dest)
    return dest


def _describe_failure(err: Exception, stall_timeout: float) -> str:
    reason = getattr(err, "reason", err)
    if isinstance(reason, socket.timeout | TimeoutError):
        return f"stalled: no data from the server for {stall_timeout:g} s"
    return f"{type(err).__name__}: {err}"


def _fetch(url: str, part: Path, size: int | None, timeout: float, progress: bool) -> None:
    from tqdm.auto import tqdm

    have = part.stat().st_size if part.exists() else 0
    if size is not None and have >= size:
        return
    request = urllib.request.Request(url, headers={"User-Agent": "sedlib"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        if have and response.status != 206:  # the server ignores Range: start again
            have = 0
        total = (
            size
            if size is not None
            else (have + int(response.headers.get("Content-Length", 0)) or None)
        )
        mode = "ab" if have else "wb"
        with (
            open(part, mode) as handle,
            tqdm(
                total=total,
                initial=have,
                unit="B",
                unit_scale=True,
                desc=part.name[:-5],
                disable=not progress,
            ) as bar,
        ):
            for block in iter(lambda: response.read(CHUNK), b""):
                handle.write(block)
                bar.update(len(block))
    if size is not None and part.stat().st_size < size:
        raise ConnectionError(f"connection closed after {part.stat().st_size} of {size} bytes")


def free_bytes(path: str | Path) -> int:
    """Free disk space where ``path`` is (or would be created)."""
    path = Path(path).resolve()
    while not path.exists():
        path = path.parent
    return shutil.disk_usage(path).free
