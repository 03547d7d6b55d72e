/* durable: making a file that was renamed into place survive a crash.
 *
 * The protocol every writer here follows (rdb_save_file, CONFIG REWRITE,
 * a replica's payload file): write a temp file, fsync it, rename it over
 * the real name, then fsync the directory, without which the rename itself
 * may be lost. A failure of either fsync is a failed save, reported with
 * the errno, as Redis 7.0 does. */
#ifndef RM_DURABLE_H
#define RM_DURABLE_H

/* fsync of the directory holding `path` ("." for a bare name). Returns 0,
 * or a negative errno. As Redis's fsyncFileDir, a filesystem that cannot
 * fsync a directory at all (EINVAL, EBADF) is not an error, and neither is
 * a system that cannot open one (EISDIR). */
int durable_fsync_dir_of(const char *path);

#endif
