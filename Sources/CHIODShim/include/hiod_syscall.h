/* hiodctl -- the system calls Swift's Glibc module does not offer: getdents64, and
 * sched_getaffinity (which glibc declares only under _GNU_SOURCE).
 *
 * HostIOMMU lists directories with getdents64(2) on a descriptor it owns, rather than
 * through a DIR stream, so that a directory is held like every other descriptor (one
 * ~Copyable owner, closed exactly once) and so that each name is read within its own
 * record: copying the 256-byte d_name of a struct dirent read past short records and
 * past the end of glibc's buffer (valgrind, ASan).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HIOD_SYSCALL_H
#define HIOD_SYSCALL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/** getdents64(2): fills `buffer` with struct linux_dirent64 records; returns the bytes
 *  filled, 0 at the end of the directory, or -1 with errno set. */
ssize_t hiod_getdents64(int descriptor, void *buffer, size_t length);

/** The number of processors in this thread's sched_getaffinity(2) mask (CPU_COUNT), or
 *  0 if the mask cannot be read. */
int hiod_affinity_processor_count(void);

/* The record header of struct linux_dirent64 (include/linux/dirent.h), which has no
 * uapi header of its own: u64 d_ino @0, s64 d_off @8, u16 d_reclen @16, u8 d_type @18,
 * then the NUL-terminated name @19. Checked against glibc's struct dirent64 in
 * hiod_syscall.c. */
enum {
  HIOD_DIRENT64_RECLEN_OFFSET = 16,
  HIOD_DIRENT64_TYPE_OFFSET = 18,
  HIOD_DIRENT64_NAME_OFFSET = 19,
};

#endif
