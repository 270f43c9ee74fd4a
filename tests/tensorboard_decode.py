#!/usr/bin/env python3
"""Independent decoder of TensorBoard event files (stdlib only), for kd's tests.

Reads each file given (or every *tfevents* file of a folder given), checks the TFRecord framing and both masked
CRC-32C values of every record, decodes the Event protocol buffers (wall_time 1 double, step 2 int64, file_version
3 string, summary 5 -> Value 1 {tag 1 string, simple_value 2 float}) and prints one JSON object:
{"file_version": [...], "scalars": [{"tag", "step", "value", "wall_time", "file"}], "records": N}.
Exits 1 on a CRC mismatch or malformed record (a truncated last record is an error here too unless --allow-truncated).
"""
import json
import os
import struct
import sys


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def masked(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def varint(buf, pos):
    shift = value = 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7


def fields(buf):
    """(field number, wire type, value) of one protocol-buffer message."""
    pos = 0
    while pos < len(buf):
        key, pos = varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            n, pos = varint(buf, pos)
            value, pos = buf[pos:pos + n], pos + n
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError("unsupported wire type %d" % wire)
        yield field, wire, value


def decode_file(path, allow_truncated, out):
    data = open(path, "rb").read()
    pos = 0
    while pos < len(data):
        if pos + 12 > len(data):
            if allow_truncated:
                return
            raise ValueError("%s: truncated record header at %d" % (path, pos))
        header = data[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (crc,) = struct.unpack("<I", data[pos + 8:pos + 12])
        if crc != masked(header):
            raise ValueError("%s: length CRC mismatch at %d" % (path, pos))
        if pos + 12 + length + 4 > len(data):
            if allow_truncated:
                return
            raise ValueError("%s: truncated record at %d" % (path, pos))
        body = data[pos + 12:pos + 12 + length]
        (crc,) = struct.unpack("<I", data[pos + 12 + length:pos + 16 + length])
        if crc != masked(body):
            raise ValueError("%s: data CRC mismatch at %d" % (path, pos))
        pos += 16 + length
        out["records"] += 1
        wall, step, values = 0.0, 0, []
        for field, wire, value in fields(body):
            if field == 1 and wire == 1:
                (wall,) = struct.unpack("<d", value)
            elif field == 2 and wire == 0:
                step = value - (1 << 64) if value >= 1 << 63 else value
            elif field == 3 and wire == 2:
                out["file_version"].append(value.decode())
            elif field == 5 and wire == 2:
                for sf, sw, sv in fields(value):
                    if sf != 1 or sw != 2:
                        continue
                    tag, simple = None, None
                    for vf, vw, vv in fields(sv):
                        if vf == 1 and vw == 2:
                            tag = vv.decode()
                        elif vf == 2 and vw == 5:
                            (simple,) = struct.unpack("<f", vv)
                    if tag is not None and simple is not None:
                        values.append((tag, simple))
        for tag, simple in values:
            out["scalars"].append({"tag": tag, "step": step, "value": simple, "wall_time": wall,
                                   "file": os.path.basename(path)})


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    allow_truncated = "--allow-truncated" in sys.argv
    files = []
    for a in args:
        if os.path.isdir(a):
            files += sorted(os.path.join(a, f) for f in os.listdir(a) if "tfevents" in f)
        else:
            files.append(a)
    out = {"file_version": [], "scalars": [], "records": 0, "files": [os.path.basename(f) for f in files]}
    try:
        for f in files:
            decode_file(f, allow_truncated, out)
    except (ValueError, IndexError, struct.error) as e:
        print("tensorboard_decode: %s" % e, file=sys.stderr)
        return 1
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
