// probe — what the kernel itself says about every VFIO group and cdev of the guest, the
// rig's ground truth for viability and MSI isolation (never hiodctl's own rules):
//
//   group N flags=0xF viable=0|1 container_set=0|1 set_iommu=OK|ERRNO
//       VFIO_GROUP_GET_STATUS on /dev/vfio/N, then (viable groups) the group in a fresh
//       type1v2 container and VFIO_SET_IOMMU — EPERM without MSI isolation
//   group N open=ERRNO        when /dev/vfio/N cannot be opened (busy, …)
//   cdev vfioM bind=OK|ERRNO attach=OK|ERRNO|-
//       /dev/vfio/devices/vfioM bound to /dev/iommu and attached to a fresh IOAS
//
// Run by guest/init after hiodctl's commands (the iommufd bind resets the device, which
// does not matter there). Everything is released again. Built statically by Tests/vm/rig
// with the project's uapi header.
// SPDX-License-Identifier: GPL-2.0-or-later

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "hiod_uapi.h"

static const char *name_of(int error) {
  switch (error) {
  case 0: return "OK";
  case EPERM: return "EPERM";
  case EBUSY: return "EBUSY";
  case EINVAL: return "EINVAL";
  case ENODEV: return "ENODEV";
  case ENOENT: return "ENOENT";
  case EACCES: return "EACCES";
  case EOPNOTSUPP: return "EOPNOTSUPP";
  case ENXIO: return "ENXIO";
  default: {
    static char text[32];
    snprintf(text, sizeof text, "E%d", error);
    return text;
  }
  }
}

static int numeric(const char *name) {
  for (const char *c = name; *c; c++)
    if (*c < '0' || *c > '9') return 0;
  return *name != 0;
}

static void probe_group(const char *id) {
  char path[300];
  snprintf(path, sizeof path, "/dev/vfio/%s", id);
  int group = open(path, O_RDWR | O_CLOEXEC);
  if (group < 0) {
    printf("group %s open=%s\n", id, name_of(errno));
    return;
  }
  struct hiod_vfio_group_status status = {.argsz = sizeof status};
  if (ioctl(group, HIOD_VFIO_GROUP_GET_STATUS, &status)) {
    printf("group %s status=%s\n", id, name_of(errno));
    close(group);
    return;
  }
  int viable = (status.flags & HIOD_VFIO_GROUP_FLAGS_VIABLE) != 0;
  int set = (status.flags & HIOD_VFIO_GROUP_FLAGS_CONTAINER_SET) != 0;
  const char *set_iommu = "-";
  if (viable && !set) {
    int container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
    if (container < 0) {
      set_iommu = "no-container";
    } else if (ioctl(group, HIOD_VFIO_GROUP_SET_CONTAINER, &container)) {
      static char text[48];
      snprintf(text, sizeof text, "set_container:%s", name_of(errno));
      set_iommu = text;
    } else {
      set_iommu = ioctl(container, HIOD_VFIO_SET_IOMMU, HIOD_VFIO_TYPE1v2_IOMMU) ? name_of(errno) : "OK";
      ioctl(group, HIOD_VFIO_GROUP_UNSET_CONTAINER);
    }
    if (container >= 0) close(container);
  }
  printf("group %s flags=0x%x viable=%d container_set=%d set_iommu=%s\n", id, status.flags, viable, set, set_iommu);
  close(group);
}

static void probe_cdev(const char *name) {
  char path[300];
  snprintf(path, sizeof path, "/dev/vfio/devices/%s", name);
  int device = open(path, O_RDWR | O_CLOEXEC);
  if (device < 0) {
    printf("cdev %s open=%s\n", name, name_of(errno));
    return;
  }
  int iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
  if (iommufd < 0) {
    printf("cdev %s bind=no-iommufd attach=-\n", name);
    close(device);
    return;
  }
  struct hiod_vfio_device_bind_iommufd bind = {.argsz = sizeof bind, .iommufd = iommufd};
  if (ioctl(device, HIOD_VFIO_DEVICE_BIND_IOMMUFD, &bind)) {
    printf("cdev %s bind=%s attach=-\n", name, name_of(errno));
  } else {
    struct hiod_iommu_ioas_alloc alloc = {.size = sizeof alloc};
    const char *attach = "ioas-failed";
    if (ioctl(iommufd, HIOD_IOMMU_IOAS_ALLOC, &alloc) == 0) {
      struct hiod_vfio_device_attach_iommufd_pt pt = {.argsz = sizeof pt, .pt_id = alloc.out_ioas_id};
      attach = ioctl(device, HIOD_VFIO_DEVICE_ATTACH_IOMMUFD_PT, &pt) ? name_of(errno) : "OK";
    }
    printf("cdev %s bind=OK attach=%s\n", name, attach);
  }
  close(device);
  close(iommufd);
}

int main(void) {
  DIR *directory = opendir("/dev/vfio");
  if (directory) {
    struct dirent *entry;
    while ((entry = readdir(directory)))
      if (numeric(entry->d_name)) probe_group(entry->d_name);
    closedir(directory);
  }
  directory = opendir("/dev/vfio/devices");
  if (directory) {
    struct dirent *entry;
    while ((entry = readdir(directory)))
      if (strncmp(entry->d_name, "vfio", 4) == 0) probe_cdev(entry->d_name);
    closedir(directory);
  }
  return 0;
}
