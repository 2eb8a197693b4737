"""``kiln.recordio`` (kept in ``data/``, aliased at the root): MXNet's RecordIO files,
byte-compatible with MXNet 1.x (dmlc-core).

A record is ``magic (0xced7230a) | lrec | payload | zero padding to 4 bytes``, little-endian;
``lrec`` holds the continuation flag in its top 3 bits and the length in the low 29. A payload
that contains the magic word at a 4-aligned offset is split there (the magic is dropped and
re-inserted on read): flag 1 opens such a record, 2 continues it, 3 ends it, 0 is a whole
record. ``MXIndexedRecordIO`` keeps a text index ``key\\tbyte_offset`` per line beside it.

Example::

    >>> w = MXRecordIO('data.rec', 'w'); w.write(b'abc'); w.close()
    >>> MXRecordIO('data.rec', 'r').read()
    b'abc'
"""
import numbers
import os
import struct
from collections import namedtuple
from multiprocessing import current_process

import numpy as np

from ..base import FileFormatError

__all__ = ["MXRecordIO", "MXIndexedRecordIO", "IRHeader", "pack", "unpack", "pack_img",
           "unpack_img"]

_MAGIC = 0xCED7230A
_MAGIC_BYTES = struct.pack("<I", _MAGIC)
_MAX_LEN = (1 << 29) - 1


def _lrec(cflag, length):
    return struct.pack("<II", _MAGIC, (cflag << 29) | length)


def encode_record(buf):
    """The bytes dmlc-core's ``RecordIOWriter::WriteRecord`` writes for payload ``buf``."""
    buf = bytes(buf)
    n = len(buf)
    if n > _MAX_LEN:
        raise ValueError(f"RecordIO records must be shorter than 2**29 bytes, got {n}")
    parts, start = [], 0
    # the magic word is searched at 4-aligned offsets only, as the C++ writer does
    pos = buf.find(_MAGIC_BYTES)
    while pos != -1 and pos + 4 <= n:
        if pos % 4 == 0:
            parts.append(_lrec(1 if start == 0 else 2, pos - start) + buf[start:pos])
            start = pos + 4
        pos = buf.find(_MAGIC_BYTES, pos + 1)
    parts.append(_lrec(3 if start else 0, n - start) + buf[start:])
    parts.append(b"\0" * (-n % 4))
    return b"".join(parts)


class MXRecordIO:
    """Sequential RecordIO reader (``flag='r'``) or writer (``flag='w'``).

    ``read()`` returns the next record's bytes, or None at the end; ``write(buf)`` appends one.
    A written file appears at ``uri`` only when closed (written to a temporary file, then
    renamed). Reading after a ``fork`` reopens the file in the child.

    Example::

        >>> with MXRecordIO('tmp.rec', 'w') as rec:
        ...     rec.write(b'record_0')
    """

    def __init__(self, uri, flag):
        self.uri = str(uri)
        self.flag = flag
        self.is_open = False
        self._file = None
        self.open()

    def open(self):
        """Opens the record file (a fresh, empty one when writing)."""
        if self.flag == "w":
            self._tmp = f"{self.uri}.tmp{os.getpid()}"
            self._file = open(self._tmp, "wb")
            self.writable = True
        elif self.flag == "r":
            self._file = open(self.uri, "rb")
            self._size = os.fstat(self._file.fileno()).st_size
            self.writable = False
        else:
            raise ValueError(f"Invalid flag {self.flag!r}: use 'r' or 'w'")
        self.pid = current_process().pid
        self.is_open = True

    def close(self):
        """Closes the file; a written file is moved into place."""
        if not self.is_open:
            return
        self.is_open = False
        self._file.close()
        if self.writable:
            os.replace(self._tmp, self.uri)

    def __del__(self):
        if getattr(self, "is_open", False):
            self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __getstate__(self):
        d = dict(self.__dict__)
        d["_file"] = None
        d["is_open"] = False
        d["_was_open"] = self.is_open
        return d

    def __setstate__(self, d):
        was_open = d.pop("_was_open", False)
        self.__dict__.update(d)
        if was_open:
            self.open()

    def reset(self):
        """Back to the first record (a writer starts an empty file)."""
        self.close()
        self.open()

    def _check_pid(self, allow_reset):
        if self.pid != current_process().pid:
            if not allow_reset:
                raise RuntimeError("Forbidden operation in multiple processes")
            self.reset()

    def write(self, buf):
        """Appends ``buf`` (bytes) as one record."""
        if not self.writable:
            raise RuntimeError(f"{self.uri} is open for reading")
        self._check_pid(allow_reset=False)
        self._file.write(encode_record(buf))

    def tell(self):
        """The byte offset where the next record starts."""
        return self._file.tell()

    def read(self):
        """The next record's bytes, or None at the end of the file."""
        if self.writable:
            raise RuntimeError(f"{self.uri} is open for writing")
        self._check_pid(allow_reset=True)
        chunks = []
        while True:
            offset = self._file.tell()
            head = self._file.read(8)
            if not head and not chunks:
                return None
            if len(head) < 8:
                raise FileFormatError(self.uri, f"truncated record header at byte {offset}")
            magic, lrec = struct.unpack("<II", head)
            if magic != _MAGIC:
                raise FileFormatError(self.uri, f"invalid RecordIO magic {magic:#010x} at "
                                      f"byte {offset} (not a RecordIO file, or corrupt)")
            cflag, length = lrec >> 29, lrec & _MAX_LEN
            padded = length + (-length % 4)
            if offset + 8 + padded > self._size:
                raise FileFormatError(self.uri, f"record at byte {offset} declares {length} "
                                      f"bytes but the file ends at byte {self._size}")
            chunks.append(self._file.read(padded)[:length])
            if cflag in (0, 3):
                return _MAGIC_BYTES.join(chunks)


class MXIndexedRecordIO(MXRecordIO):
    """RecordIO with random access through the index file ``idx_path`` (``key\\toffset`` lines,
    as ``im2rec`` and MXNet write them); ``keys`` lists the keys in file order.

    Example::

        >>> rec = MXIndexedRecordIO('tmp.idx', 'tmp.rec', 'w')
        >>> for i in range(3):
        ...     rec.write_idx(i, b'record_%d' % i)
        >>> rec.close()
        >>> MXIndexedRecordIO('tmp.idx', 'tmp.rec', 'r').read_idx(2)
        b'record_2'
    """

    def __init__(self, idx_path, uri, flag, key_type=int):
        self.idx_path = str(idx_path)
        self.key_type = key_type
        self.idx, self.keys = {}, []
        self.fidx = None
        super().__init__(uri, flag)

    def open(self):
        super().open()
        self.idx, self.keys = {}, []
        if self.writable:
            self._idx_tmp = f"{self.idx_path}.tmp{os.getpid()}"
            self.fidx = open(self._idx_tmp, "w")
            return
        with open(self.idx_path) as f:
            for lineno, line in enumerate(f, 1):
                fields = line.strip().split("\t")
                if fields == [""]:
                    continue
                try:
                    key, pos = self.key_type(fields[0]), int(fields[1])
                except (IndexError, ValueError) as e:
                    raise FileFormatError(self.idx_path, f"line {lineno} is not "
                                          f"'key<TAB>offset': {line.strip()!r}") from e
                if not 0 <= pos < max(self._size, 1):
                    raise FileFormatError(self.idx_path, f"line {lineno}: offset {pos} is "
                                          f"outside {self.uri} ({self._size} bytes)")
                self.idx[key] = pos
                self.keys.append(key)

    def close(self):
        if not self.is_open:
            return
        super().close()
        if self.writable:
            self.fidx.close()
            os.replace(self._idx_tmp, self.idx_path)

    def __getstate__(self):
        d = super().__getstate__()
        d["fidx"] = None
        return d

    def seek(self, idx):
        """Moves the reader to the record with key ``idx``."""
        if self.writable:
            raise RuntimeError(f"{self.uri} is open for writing")
        self._check_pid(allow_reset=True)
        self._file.seek(self.idx[idx])

    def read_idx(self, idx):
        """The record with key ``idx``."""
        self.seek(idx)
        return self.read()

    def write_idx(self, idx, buf):
        """Appends ``buf`` as the record with key ``idx``."""
        key = self.key_type(idx)
        pos = self.tell()
        self.write(buf)
        self.fidx.write(f"{key}\t{pos}\n")
        self.idx[key] = pos
        self.keys.append(key)


IRHeader = namedtuple("HEADER", ["flag", "label", "id", "id2"])
IRHeader.__doc__ = """An image record's header: ``flag`` (the number of float32 labels that
follow the header, 0 for one scalar ``label``), ``label``, ``id`` and ``id2``.

Example: ``pack(IRHeader(0, [1., 2.], 7, 0), b'...')`` stores flag 2 and the two labels."""
_IR_FORMAT = "IfQQ"
_IR_SIZE = struct.calcsize(_IR_FORMAT)


def pack(header, s):
    """Header + payload ``s`` as one record's bytes; an array label sets ``flag`` to its size.

    Example::

        >>> unpack(pack(IRHeader(0, 3, 1, 0), b'x'))
        (HEADER(flag=0, label=3.0, id=1, id2=0), b'x')
    """
    header = IRHeader(*header)
    if isinstance(header.label, numbers.Number):
        header = header._replace(flag=0)
    else:
        label = np.asarray(header.label, dtype=np.float32)
        header = header._replace(flag=label.size, label=0)
        s = label.tobytes() + bytes(s)
    return struct.pack(_IR_FORMAT, *header) + bytes(s)


def unpack(s):
    """``(IRHeader, payload)`` of a record; ``label`` is a float32 array when ``flag > 0``."""
    if len(s) < _IR_SIZE:
        raise FileFormatError(None, f"record of {len(s)} bytes is shorter than the {_IR_SIZE}-byte "
                              "image record header")
    header = IRHeader(*struct.unpack(_IR_FORMAT, s[:_IR_SIZE]))
    s = s[_IR_SIZE:]
    if header.flag > 0:
        if len(s) < 4 * header.flag:
            raise FileFormatError(None, f"record header declares {header.flag} labels but only "
                                  f"{len(s)} bytes follow")
        header = header._replace(label=np.frombuffer(s, np.float32, header.flag))
        s = s[header.flag * 4:]
    return header, s


def unpack_img(s, iscolor=-1):
    """``(IRHeader, image)``: the payload decoded to a numpy array in OpenCV's BGR order, as
    ``cv2.imdecode(buf, iscolor)`` gives it (-1 unchanged, 0 grey (H, W), 1 colour)."""
    from ..image import _codec
    header, s = unpack(s)
    return header, _codec.cv2_imdecode(s, iscolor)


def pack_img(header, img, quality=95, img_fmt=".jpg"):
    """Encode a numpy image in OpenCV's BGR order (``.jpg`` with JPEG ``quality`` 1-100, or
    ``.png`` with compression level ``quality`` 0-9) and pack it with ``header``."""
    from ..image import _codec
    return pack(header, _codec.cv2_imencode(img, img_fmt, quality))
