"""Writing files atomically: a crash leaves the old file or the new one, never half of one."""
from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path


def default_file_mode() -> int:
    """0o666 less the umask: what open() would give (mkstemp's files are 0o600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomic(path, write) -> Path:
    """Call write(binary_file) on a temporary file beside `path`, flush it to disk, then rename
    it over `path`. On any error the temporary file is removed and `path` is left as it was."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, default_file_mode())
        os.replace(tmp, path)
    except BaseException as e:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError) and e.errno and (
                e.filename is None or Path(e.filename).name.startswith(f".{path.name}.")):
            # Name the file the caller asked for, not the temporary one.
            raise type(e)(e.errno, e.strerror, str(path)) from e
        raise
    return path


# An .npz whose arrays together unpack to more than this is refused before it is read: a few
# megabytes of zeros can expand to gigabytes. The largest real set read here (MNIST) is 55 MB.
MAX_NPZ_BYTES = 2 * 1024 ** 3


def open_npz(path, what: str = "file"):
    """np.load of an .npz after checking what it is: a zip archive of .npy arrays, none of
    them pickled objects, unpacking to at most MAX_NPZ_BYTES. Anything else raises UserError
    naming the file (never NumPy's advice to unpickle it)."""
    from .errors import UserError

    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such {what}" if not path.exists() else
                        f"{path}: is a folder, not an .npz {what}")
    if not zipfile.is_zipfile(path):
        raise UserError(f"{path}: not an .npz archive (not a zip file); give the .npz {what} "
                        f"itself")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise UserError(f"{path}: damaged .npz archive ({e})") from None
    with archive:
        return _checked_npz(archive, path)


def _checked_npz(archive, path: Path):
    import numpy as np

    from .errors import UserError

    members = archive.infolist()
    odd = [m.filename for m in members if not m.filename.endswith(".npy")]
    if odd:
        raise UserError(f"{path}: not an .npz of arrays (it holds {odd[:3]})")
    unpacked = sum(m.file_size for m in members)
    if unpacked > MAX_NPZ_BYTES:
        raise UserError(f"{path}: unpacks to {unpacked / 1024 ** 3:.1f} GiB, more than the "
                        f"{MAX_NPZ_BYTES / 1024 ** 3:.0f} GiB minigan reads; use a smaller file")
    pickled = [m.filename[:-4] for m in members if _npy_dtype(archive, m, path).hasobject]
    if pickled:
        raise UserError(f"{path}: {pickled[:3]} hold Python objects, which minigan never "
                        f"unpickles; save plain number or text arrays")
    return np.load(path, allow_pickle=False)


def _npy_dtype(archive, member, path):
    """The dtype in one .npy member's header, read without reading its data."""
    import numpy as np

    from .errors import UserError

    readers = {(1, 0): np.lib.format.read_array_header_1_0,
               (2, 0): np.lib.format.read_array_header_2_0}
    try:
        with archive.open(member) as f:
            version = np.lib.format.read_magic(f)
            if version not in readers:
                return np.dtype(np.uint8)   # a newer header: np.load still refuses objects
            return readers[version](f)[2]
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise UserError(f"{path}: damaged array {member.filename} ({e})") from None


def read_npz(path, what: str = "file") -> dict:
    """Every array of a checked .npz (see open_npz), read in full; reading checks each one's
    CRC, so a damaged member raises UserError here rather than later."""
    from .errors import UserError

    try:
        with open_npz(path, what) as z:
            return {k: z[k] for k in z.files}
    except UserError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as e:
        raise UserError(f"{path}: damaged or unreadable .npz {what} ({e})") from None


def remove_stale_temporaries(folder, names) -> list[Path]:
    """Remove the temporary files write_atomic left beside `names` in `folder` when a process
    was killed mid-write (kill -9 runs no cleanup). Call only where one writer owns the folder."""
    folder = Path(folder)
    removed = []
    for name in names:
        for tmp in folder.glob(f".{name}.*.tmp"):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed
