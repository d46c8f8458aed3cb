// vfio-hold — hold a VFIO device the way a running QEMU does, for the rig's
// concurrency scenarios: hiodctl must report the device busy, name the holder, and
// leave it undisturbed.
//
//   vfio-hold legacy /dev/vfio/N BDF
//       the group in a type1v2 container, and the device fd (QEMU's legacy backend:
//       -device vfio-pci,host=BDF)
//   vfio-hold iommufd /dev/vfio/devices/vfioM
//       the cdev bound to /dev/iommu and attached to an IOAS (QEMU's iommufd backend:
//       -object iommufd,id=fd0 -device vfio-pci,iommufd=fd0,...)
//
// Prints "holding" once every step succeeded, then waits. On SIGUSR1 it maps one
// page for DMA and unmaps it again through what it holds — proof the holder still
// works — and prints "dma ok" or "dma failed: <errno>". SIGTERM ends it.
// Built statically by Tests/vm/rig with the project's own uapi header.
// SPDX-License-Identifier: GPL-2.0-or-later

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hiod_uapi.h"

// The few uapi pieces hiodctl itself never uses (it never maps DMA nor opens a
// device fd through the group); layouts from include/uapi/linux/{vfio,iommufd}.h.
#define VFIO_GROUP_GET_DEVICE_FD _IO(HIOD_VFIO_TYPE, HIOD_VFIO_BASE + 6)
#define VFIO_IOMMU_MAP_DMA _IO(HIOD_VFIO_TYPE, HIOD_VFIO_BASE + 13)
#define VFIO_IOMMU_UNMAP_DMA _IO(HIOD_VFIO_TYPE, HIOD_VFIO_BASE + 14)
#define IOMMU_IOAS_MAP _IO(HIOD_IOMMUFD_TYPE, HIOD_IOMMUFD_CMD_BASE + 0x05)
#define IOMMU_IOAS_UNMAP _IO(HIOD_IOMMUFD_TYPE, HIOD_IOMMUFD_CMD_BASE + 0x06)

struct vfio_dma_map {
  uint32_t argsz, flags; /* flags: READ 1, WRITE 2 */
  uint64_t vaddr, iova, size;
};
struct vfio_dma_unmap {
  uint32_t argsz, flags;
  uint64_t iova, size;
};
struct iommu_ioas_map {
  uint32_t size, flags, ioas_id, reserved; /* flags: FIXED_IOVA 1, WRITEABLE 2, READABLE 4 */
  uint64_t user_va, length, iova;
};
struct iommu_ioas_unmap {
  uint32_t size, ioas_id;
  uint64_t iova, length;
};

static volatile sig_atomic_t probe;

static void on_usr1(int signal) {
  (void)signal;
  probe = 1;
}

static int fail(const char *what) {
  fprintf(stderr, "vfio-hold: %s: %s\n", what, strerror(errno));
  return 1;
}

static int open_rw(const char *path) { return open(path, O_RDWR | O_CLOEXEC); }

int main(int argc, char **argv) {
  int legacy = argc == 4 && strcmp(argv[1], "legacy") == 0;
  int iommufd_mode = argc == 3 && strcmp(argv[1], "iommufd") == 0;
  if (!legacy && !iommufd_mode) {
    fprintf(stderr, "usage: vfio-hold legacy /dev/vfio/N BDF | vfio-hold iommufd /dev/vfio/devices/vfioM\n");
    return 64;
  }
  int container = -1, iommufd = -1;
  uint32_t ioas = 0;
  if (legacy) {
    int group = open_rw(argv[2]);
    if (group < 0) return fail(argv[2]);
    container = open_rw("/dev/vfio/vfio");
    if (container < 0) return fail("/dev/vfio/vfio");
    if (ioctl(group, HIOD_VFIO_GROUP_SET_CONTAINER, &container)) return fail("VFIO_GROUP_SET_CONTAINER");
    if (ioctl(container, HIOD_VFIO_SET_IOMMU, HIOD_VFIO_TYPE1v2_IOMMU)) return fail("VFIO_SET_IOMMU");
    if (ioctl(group, VFIO_GROUP_GET_DEVICE_FD, argv[3]) < 0) return fail("VFIO_GROUP_GET_DEVICE_FD");
  } else {
    int device = open_rw(argv[2]);
    if (device < 0) return fail(argv[2]);
    iommufd = open_rw("/dev/iommu");
    if (iommufd < 0) return fail("/dev/iommu");
    struct hiod_vfio_device_bind_iommufd bind = {.argsz = sizeof bind, .iommufd = iommufd};
    if (ioctl(device, HIOD_VFIO_DEVICE_BIND_IOMMUFD, &bind)) return fail("VFIO_DEVICE_BIND_IOMMUFD");
    struct hiod_iommu_ioas_alloc alloc = {.size = sizeof alloc};
    if (ioctl(iommufd, HIOD_IOMMU_IOAS_ALLOC, &alloc)) return fail("IOMMU_IOAS_ALLOC");
    ioas = alloc.out_ioas_id;
    struct hiod_vfio_device_attach_iommufd_pt attach = {.argsz = sizeof attach, .pt_id = ioas};
    if (ioctl(device, HIOD_VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach)) return fail("VFIO_DEVICE_ATTACH_IOMMUFD_PT");
  }

  void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) return fail("mmap");
  signal(SIGUSR1, on_usr1);
  printf("holding\n");
  fflush(stdout);

  sigset_t usr1, old;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigprocmask(SIG_BLOCK, &usr1, &old);
  for (;;) {
    while (!probe) sigsuspend(&old);
    probe = 0;
    const uint64_t iova = 0x100000;
    int failed;
    if (legacy) {
      struct vfio_dma_map map = {.argsz = sizeof map, .flags = 3, .vaddr = (uintptr_t)page, .iova = iova, .size = 4096};
      struct vfio_dma_unmap unmap = {.argsz = sizeof unmap, .iova = iova, .size = 4096};
      failed = ioctl(container, VFIO_IOMMU_MAP_DMA, &map) || ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap);
    } else {
      struct iommu_ioas_map map = {.size = sizeof map, .flags = 7, .ioas_id = ioas, .user_va = (uintptr_t)page, .length = 4096, .iova = iova};
      struct iommu_ioas_unmap unmap = {.size = sizeof unmap, .ioas_id = ioas, .iova = iova, .length = 4096};
      failed = ioctl(iommufd, IOMMU_IOAS_MAP, &map) || ioctl(iommufd, IOMMU_IOAS_UNMAP, &unmap);
    }
    if (failed) printf("dma failed: %s\n", strerror(errno));
    else printf("dma ok\n");
    fflush(stdout);
  }
}
