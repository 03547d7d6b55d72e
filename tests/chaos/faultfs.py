#!/usr/bin/python3
"""A fault-injecting passthrough filesystem (FUSE) for a server's `dir`.

    faultfs.py --source BACKING_DIR --mount MOUNTPOINT --control PORT [--log FILE]

Every file operation under MOUNTPOINT is done on BACKING_DIR, unchanged,
until a rule says otherwise. Because the fault sits in the filesystem, it
reaches every way a process can ask for it: libc fsync() and fdatasync(),
and io_uring's IORING_OP_FSYNC (with or without IORING_FSYNC_DATASYNC),
which the kernel sends to FUSE as the same FSYNC request. An LD_PRELOAD
shim would only see the libc calls.

Control: a TCP port on 127.0.0.1, one command per line, one reply line each
("OK ..." or "ERR ..."), as faultproxy.py's:

  fail OP GLOB ERRNO  from now on, OP on a file whose name (the last path
                      component) matches the shell pattern GLOB fails with
                      ERRNO (a name such as EIO or ENOSPC, or a number). OP:
                      fsync (a full fsync), fdatasync, sync (both), fsyncdir
                      (fsync of a directory; GLOB matches the directory's
                      name, "/" for the mount's root), write
  heal                every rule off
  stats               one line of JSON: the requests seen per OP and the
                      failures injected per OP
  quit                unmount (lazily) and exit

Mounted in the foreground with the options a root-run test wants:
`default_permissions` (the kernel checks modes, as on a real disk),
`big_writes` / `max_write` (128 KB requests instead of 4 KB ones), and no
attribute caching past a second. Unmount with `fusermount3 -u MOUNTPOINT`
or, if this process died, `umount -l MOUNTPOINT`: chaoslib.FaultFs does
both, in that order.

Needs python3-fusepy (libfuse2 through ctypes) and /dev/fuse; run as root.
"""

import argparse
import errno
import fnmatch
import json
import os
import socket
import subprocess
import sys
import threading

from fusepy import FUSE, FuseOSError, Operations

OPS = ("fsync", "fdatasync", "fsyncdir", "write")


def errno_of(word):
    if word.isdigit():
        return int(word)
    code = getattr(errno, word.upper(), None)
    if not isinstance(code, int):
        raise ValueError("unknown errno %r" % word)
    return code


class Faults:
    """The rules in force and the counters, shared by the FUSE threads and
    the control thread."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []  # (op, glob, errno)
        self.seen = dict.fromkeys(OPS, 0)
        self.failed = dict.fromkeys(OPS, 0)

    def check(self, op, path):
        """Raise the injected error for `op` on `path`, if a rule says so."""
        name = os.path.basename(path.rstrip("/")) or "/"
        with self.lock:
            self.seen[op] += 1
            for rop, glob, code in self.rules:
                if rop == op and fnmatch.fnmatchcase(name, glob):
                    self.failed[op] += 1
                    raise FuseOSError(code)

    def command(self, line):
        words = line.split()
        if not words:
            return "ERR empty command"
        cmd, args = words[0].lower(), words[1:]
        with self.lock:
            if cmd == "fail" and len(args) == 3:
                ops = ("fsync", "fdatasync") if args[0] == "sync" else (args[0],)
                if any(op not in OPS for op in ops):
                    return "ERR unknown operation %r" % args[0]
                try:
                    code = errno_of(args[2])
                except ValueError as e:
                    return "ERR %s" % e
                for op in ops:
                    self.rules.append((op, args[1], code))
                return "OK %d" % len(self.rules)
            if cmd == "heal" and not args:
                self.rules = []
                return "OK"
            if cmd == "stats" and not args:
                return "OK " + json.dumps({"seen": self.seen, "failed": self.failed,
                                           "rules": self.rules})
        return "ERR unknown command %r" % line


class Passthrough(Operations):
    """Every operation on the backing directory, with Faults in the way of
    fsync, fdatasync, directory fsync and write."""

    def __init__(self, root, faults):
        self.root = os.path.realpath(root)
        self.faults = faults

    def real(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def __call__(self, op, *args):
        # Operations.__call__ turns a missing method into EFAULT; an OSError
        # from the backing directory goes back to the caller as its errno.
        try:
            return super().__call__(op, *args)
        except OSError as e:
            if isinstance(e, FuseOSError):
                raise
            raise FuseOSError(e.errno or errno.EIO) from e

    # -- names and attributes -------------------------------------------------

    def access(self, path, mode):
        if not os.access(self.real(path), mode):
            raise FuseOSError(errno.EACCES)

    def getattr(self, path, fh=None):
        st = os.lstat(self.real(path)) if fh is None else os.fstat(fh)
        return {k: getattr(st, k) for k in (
            "st_mode", "st_nlink", "st_uid", "st_gid", "st_size", "st_atime", "st_mtime",
            "st_ctime", "st_blocks", "st_ino")}

    def readdir(self, path, fh):
        return [".", ".."] + os.listdir(self.real(path))

    def statfs(self, path):
        sv = os.statvfs(self.real(path))
        return {k: getattr(sv, k) for k in (
            "f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree", "f_files",
            "f_flag", "f_frsize", "f_namemax")}

    def chmod(self, path, mode):
        os.chmod(self.real(path), mode)

    def chown(self, path, uid, gid):
        os.chown(self.real(path), uid, gid)

    def utimens(self, path, times=None):
        os.utime(self.real(path), times)

    def readlink(self, path):
        return os.readlink(self.real(path))

    def symlink(self, target, source):
        os.symlink(source, self.real(target))

    def link(self, target, source):
        os.link(self.real(source), self.real(target))

    def mkdir(self, path, mode):
        os.mkdir(self.real(path), mode)

    def rmdir(self, path):
        os.rmdir(self.real(path))

    def unlink(self, path):
        os.unlink(self.real(path))

    def rename(self, old, new):
        os.rename(self.real(old), self.real(new))

    def truncate(self, path, length, fh=None):
        if fh is None:
            os.truncate(self.real(path), length)
        else:
            os.ftruncate(fh, length)

    # -- files -----------------------------------------------------------------

    def open(self, path, flags):
        return os.open(self.real(path), flags)

    def create(self, path, mode, fi=None):
        return os.open(self.real(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)

    def read(self, path, size, offset, fh):
        return os.pread(fh, size, offset)

    def write(self, path, data, offset, fh):
        self.faults.check("write", path)
        return os.pwrite(fh, data, offset)

    def flush(self, path, fh):
        return 0

    def release(self, path, fh):
        os.close(fh)
        return 0

    def fsync(self, path, datasync, fh):
        self.faults.check("fdatasync" if datasync else "fsync", path)
        if datasync:
            os.fdatasync(fh)
        else:
            os.fsync(fh)
        return 0

    # -- directories -----------------------------------------------------------

    def opendir(self, path):
        return 0

    def releasedir(self, path, fh):
        return 0

    def fsyncdir(self, path, datasync, fh):
        self.faults.check("fsyncdir", path)
        fd = os.open(self.real(path), os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return 0


def serve_control(port, faults, mountpoint):
    """One thread per control connection: read lines, answer each."""
    lsock = socket.create_server(("127.0.0.1", port))

    def handle(conn):
        buf = b""
        with conn:
            while True:
                try:
                    data = conn.recv(4096)
                except OSError:
                    return
                if not data:
                    return
                buf += data
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    line = line.decode(errors="replace").strip()
                    if line.lower() == "quit":
                        conn.sendall(b"OK\n")
                        unmount(mountpoint)
                        return
                    conn.sendall(faults.command(line).encode() + b"\n")

    def accept_loop():
        while True:
            conn, _ = lsock.accept()
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()


def unmount(mountpoint):
    """Unmount; fuse_main then returns and the process exits."""
    for cmd in (["fusermount3", "-u", mountpoint], ["umount", "-l", mountpoint]):
        try:
            if subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=10).returncode == 0:
                return
        except (OSError, subprocess.TimeoutExpired):
            continue


def main():
    ap = argparse.ArgumentParser(description="Passthrough FUSE filesystem with injected faults.")
    ap.add_argument("--source", required=True, help="the backing directory")
    ap.add_argument("--mount", required=True, help="the mountpoint")
    ap.add_argument("--control", type=int, required=True, help="control port on 127.0.0.1")
    ap.add_argument("--log", help="append stderr here")
    args = ap.parse_args()
    if args.log:
        fd = os.open(args.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 2)
        os.close(fd)
    faults = Faults()
    serve_control(args.control, faults, args.mount)
    FUSE(Passthrough(args.source, faults), args.mount, foreground=True, nothreads=False,
         default_permissions=True, big_writes=True, max_write=131072, attr_timeout=1,
         entry_timeout=1, fsname="faultfs")
    sys.exit(0)


if __name__ == "__main__":
    main()
