/* hiodctl -- getdents64(2) for Swift (see hiod_syscall.h).
 * SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include "hiod_syscall.h"

#include <dirent.h>
#include <sched.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>

/* glibc's struct dirent64 has the kernel's linux_dirent64 header layout. */
_Static_assert(offsetof(struct dirent64, d_reclen) == HIOD_DIRENT64_RECLEN_OFFSET, "d_reclen offset");
_Static_assert(offsetof(struct dirent64, d_type) == HIOD_DIRENT64_TYPE_OFFSET, "d_type offset");
_Static_assert(offsetof(struct dirent64, d_name) == HIOD_DIRENT64_NAME_OFFSET, "d_name offset");

ssize_t hiod_getdents64(int descriptor, void *buffer, size_t length) {
  /* syscall(2) rather than glibc's getdents64 wrapper (2.30+): one spelling everywhere. */
  return (ssize_t)syscall(SYS_getdents64, descriptor, buffer, length);
}

int hiod_affinity_processor_count(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
  return CPU_COUNT(&set);
}
