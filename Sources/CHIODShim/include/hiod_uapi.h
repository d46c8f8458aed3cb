/* hiodctl -- the VFIO and iommufd kernel ABI, as hiodctl uses it.
 *
 * The project's own definitions, written from include/uapi/linux/vfio.h and iommufd.h
 * and documented field by field below. Debian 12's linux-libc-dev (6.1) has no
 * iommufd.h and a vfio.h without the cdev ioctls, and hiodctl must build there, so it carries its own copy under its own names (hiod_*):
 * nothing here can collide with, or be silently replaced by, a system <linux/vfio.h>.
 *
 * Every struct's size and every field offset is static-asserted below; the ioctl
 * numbers are pinned by IoctlNumberTests. All of these ioctls are _IO(';', nr): no
 * direction or size bits, so the number is (0x3b << 8) | nr on x86_64, arm64 and
 * riscv64 alike. The structs are size-extensible: the kernel accepts a shorter struct
 * from older userspace and rejects a longer one only if the extra bytes are non-zero
 * (E2BIG), so hiodctl always passes the current size with unused fields zeroed.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HIOD_UAPI_H
#define HIOD_UAPI_H

#include <linux/ioctl.h>
#include <stddef.h>
#include <stdint.h>

/* ---- ioctl numbers ------------------------------------------------------------- */

#define HIOD_VFIO_TYPE ';'
#define HIOD_VFIO_BASE 100
#define HIOD_IOMMUFD_TYPE ';'
#define HIOD_IOMMUFD_CMD_BASE 0x80

enum {
  /* Container (/dev/vfio/vfio). */
  HIOD_VFIO_GET_API_VERSION = _IO(HIOD_VFIO_TYPE, HIOD_VFIO_BASE + 0),
  HIOD_VFIO_CHECK_EXTENSION = _IO(HIOD_VFIO_TYPE, HIOD_VFIO_BASE + 1),
  HIOD_VFIO_SET_IOMMU = _IO(HIOD_VFIO_TYPE, HIOD_VFIO_BASE + 2),
  /* Group (/dev/vfio/N). */
  HIOD_VFIO_GROUP_GET_STATUS = _IO(HIOD_VFIO_TYPE, HIOD_VFIO_BASE + 3),
  HIOD_VFIO_GROUP_SET_CONTAINER = _IO(HIOD_VFIO_TYPE, HIOD_VFIO_BASE + 4),
  HIOD_VFIO_GROUP_UNSET_CONTAINER = _IO(HIOD_VFIO_TYPE, HIOD_VFIO_BASE + 5),
  /* Container, type1 backend (same number as VFIO_DEVICE_GET_PCI_HOT_RESET_INFO). */
  HIOD_VFIO_IOMMU_GET_INFO = _IO(HIOD_VFIO_TYPE, HIOD_VFIO_BASE + 12),
  /* Device cdev (/dev/vfio/devices/vfioM), Linux 6.6+. */
  HIOD_VFIO_DEVICE_BIND_IOMMUFD = _IO(HIOD_VFIO_TYPE, HIOD_VFIO_BASE + 18),
  HIOD_VFIO_DEVICE_ATTACH_IOMMUFD_PT = _IO(HIOD_VFIO_TYPE, HIOD_VFIO_BASE + 19),
  HIOD_VFIO_DEVICE_DETACH_IOMMUFD_PT = _IO(HIOD_VFIO_TYPE, HIOD_VFIO_BASE + 20),
  /* iommufd (/dev/iommu), Linux 6.2+. */
  HIOD_IOMMU_DESTROY = _IO(HIOD_IOMMUFD_TYPE, HIOD_IOMMUFD_CMD_BASE + 0x00),
  HIOD_IOMMU_IOAS_ALLOC = _IO(HIOD_IOMMUFD_TYPE, HIOD_IOMMUFD_CMD_BASE + 0x01),
  HIOD_IOMMU_IOAS_IOVA_RANGES = _IO(HIOD_IOMMUFD_TYPE, HIOD_IOMMUFD_CMD_BASE + 0x04),
  HIOD_IOMMU_HWPT_ALLOC = _IO(HIOD_IOMMUFD_TYPE, HIOD_IOMMUFD_CMD_BASE + 0x09),
  HIOD_IOMMU_GET_HW_INFO = _IO(HIOD_IOMMUFD_TYPE, HIOD_IOMMUFD_CMD_BASE + 0x0a),
};

/* ---- VFIO constants -------------------------------------------------------------- */

enum {
  HIOD_VFIO_API_VERSION = 0,
  /* Extensions / IOMMU types for CHECK_EXTENSION and SET_IOMMU. */
  HIOD_VFIO_TYPE1_IOMMU = 1,
  HIOD_VFIO_SPAPR_TCE_IOMMU = 2,
  HIOD_VFIO_TYPE1v2_IOMMU = 3,
  HIOD_VFIO_DMA_CC_IOMMU = 4,
  HIOD_VFIO_SPAPR_TCE_v2_IOMMU = 7,
  HIOD_VFIO_NOIOMMU_IOMMU = 8,
  HIOD_VFIO_UNMAP_ALL = 9,
  /* vfio_group_status.flags */
  HIOD_VFIO_GROUP_FLAGS_VIABLE = 1 << 0,
  HIOD_VFIO_GROUP_FLAGS_CONTAINER_SET = 1 << 1,
  /* vfio_iommu_type1_info.flags */
  HIOD_VFIO_IOMMU_INFO_PGSIZES = 1 << 0,
  HIOD_VFIO_IOMMU_INFO_CAPS = 1 << 1,
  /* Type1 capability ids in the GET_INFO chain. */
  HIOD_VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE = 1,
  HIOD_VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION = 2,
  HIOD_VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL = 3,
};

/** VFIO_GROUP_GET_STATUS. */
struct hiod_vfio_group_status {
  uint32_t argsz;
  uint32_t flags;
};

/** VFIO_IOMMU_GET_INFO (type1). Capabilities follow at cap_offset when CAPS is set. */
struct hiod_vfio_iommu_type1_info {
  uint32_t argsz;
  uint32_t flags;
  uint64_t iova_pgsizes; /* bitmap of supported IOMMU page sizes */
  uint32_t cap_offset;   /* from the start of this struct; 0 = none */
  uint32_t pad;
};

/** Header of every capability in a VFIO info chain. */
struct hiod_vfio_info_cap_header {
  uint16_t id;
  uint16_t version;
  uint32_t next; /* offset of the next header from the start of the info buffer; 0 = end */
};

/** One usable IOVA window of VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE (end inclusive). */
struct hiod_vfio_iova_range {
  uint64_t start;
  uint64_t end;
};

/** VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE; nr_iovas ranges follow at offset 16. */
struct hiod_vfio_iommu_type1_info_cap_iova_range {
  struct hiod_vfio_info_cap_header header;
  uint32_t nr_iovas;
  uint32_t reserved;
};

/** VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION. */
struct hiod_vfio_iommu_type1_info_cap_migration {
  struct hiod_vfio_info_cap_header header;
  uint32_t flags;
  uint32_t pad;
  uint64_t pgsize_bitmap;
  uint64_t max_dirty_bitmap_size;
};

/** VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL: how many more DMA mappings the container allows. */
struct hiod_vfio_iommu_type1_info_dma_avail {
  struct hiod_vfio_info_cap_header header;
  uint32_t avail;
};

/** VFIO_DEVICE_BIND_IOMMUFD (without the 6.17 VF-token extension). */
struct hiod_vfio_device_bind_iommufd {
  uint32_t argsz;
  uint32_t flags;
  int32_t iommufd;
  uint32_t out_devid;
};

/** VFIO_DEVICE_ATTACH_IOMMUFD_PT: pt_id is an IOAS or HWPT id; the kernel may rewrite it. */
struct hiod_vfio_device_attach_iommufd_pt {
  uint32_t argsz;
  uint32_t flags;
  uint32_t pt_id;
};

/** VFIO_DEVICE_DETACH_IOMMUFD_PT. */
struct hiod_vfio_device_detach_iommufd_pt {
  uint32_t argsz;
  uint32_t flags;
};

/* ---- iommufd ------------------------------------------------------------------ */

enum {
  /* enum iommu_hw_info_type */
  HIOD_IOMMU_HW_INFO_TYPE_NONE = 0,
  HIOD_IOMMU_HW_INFO_TYPE_INTEL_VTD = 1,
  HIOD_IOMMU_HW_INFO_TYPE_ARM_SMMUV3 = 2,
  HIOD_IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV = 3,
  HIOD_IOMMU_HW_INFO_TYPE_AMD = 4,
  /* enum iommufd_hw_capabilities (out_capabilities) */
  HIOD_IOMMU_HW_CAP_DIRTY_TRACKING = 1 << 0,
  HIOD_IOMMU_HW_CAP_PCI_PASID_EXEC = 1 << 1,
  HIOD_IOMMU_HW_CAP_PCI_PASID_PRIV = 1 << 2,
  HIOD_IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED = 1 << 3,
  /* enum iommufd_hwpt_alloc_flags */
  HIOD_IOMMU_HWPT_ALLOC_NEST_PARENT = 1 << 0,
  HIOD_IOMMU_HWPT_ALLOC_DIRTY_TRACKING = 1 << 1,
  /* enum iommu_hwpt_data_type */
  HIOD_IOMMU_HWPT_DATA_NONE = 0,
  /* iommu_hw_info_vtd.flags */
  HIOD_IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17 = 1 << 0,
};

/** IOMMU_DESTROY. */
struct hiod_iommu_destroy {
  uint32_t size;
  uint32_t id;
};

/** IOMMU_IOAS_ALLOC. */
struct hiod_iommu_ioas_alloc {
  uint32_t size;
  uint32_t flags; /* must be 0 */
  uint32_t out_ioas_id;
};

/** One usable IOVA window of IOMMU_IOAS_IOVA_RANGES (last inclusive). */
struct hiod_iommu_iova_range {
  uint64_t start;
  uint64_t last;
};

/** IOMMU_IOAS_IOVA_RANGES: EMSGSIZE when num_iovas (in) is smaller than the total (out). */
struct hiod_iommu_ioas_iova_ranges {
  uint32_t size;
  uint32_t ioas_id;
  uint32_t num_iovas;
  uint32_t reserved; /* __reserved, must be 0 */
  uint64_t allowed_iovas; /* user pointer to struct hiod_iommu_iova_range[num_iovas] */
  uint64_t out_iova_alignment;
};

/** IOMMU_HWPT_ALLOC (fault_id was added in 6.11; zero is accepted by older kernels). */
struct hiod_iommu_hwpt_alloc {
  uint32_t size;
  uint32_t flags;
  uint32_t dev_id;
  uint32_t pt_id;
  uint32_t out_hwpt_id;
  uint32_t reserved; /* __reserved */
  uint32_t data_type;
  uint32_t data_len;
  uint64_t data_uptr;
  uint32_t fault_id;
  uint32_t reserved2; /* __reserved2 */
};

/** IOMMU_GET_HW_INFO (6.6 ended at offset 32; out_capabilities came in 6.7). */
struct hiod_iommu_hw_info {
  uint32_t size;
  uint32_t flags;
  uint32_t dev_id;
  uint32_t data_len; /* in: buffer size; out: the kernel's full vendor struct size */
  uint64_t data_uptr;
  uint32_t out_data_type; /* in_data_type with IOMMU_HW_INFO_FLAG_INPUT_TYPE (6.17) */
  uint8_t out_max_pasid_log2;
  uint8_t reserved[3];
  uint64_t out_capabilities;
};

/** IOMMU_HW_INFO_TYPE_INTEL_VTD: the raw CAP and ECAP registers of the DMAR unit. */
struct hiod_iommu_hw_info_vtd {
  uint32_t flags;
  uint32_t reserved;
  uint64_t cap_reg;
  uint64_t ecap_reg;
};

/** IOMMU_HW_INFO_TYPE_ARM_SMMUV3: raw IDR0-IDR5, IIDR, AIDR. */
struct hiod_iommu_hw_info_arm_smmuv3 {
  uint32_t flags;
  uint32_t reserved;
  uint32_t idr[6];
  uint32_t iidr;
  uint32_t aidr;
};

/** IOMMU_HW_INFO_TYPE_AMD: the raw Extended Feature Registers. */
struct hiod_iommu_hw_info_amd {
  uint64_t efr;
  uint64_t efr2;
};

/** The largest vendor struct: what hiodctl passes as data_len (QEMU's sizeof(VendorCaps)). */
#define HIOD_IOMMU_HW_INFO_VENDOR_MAX 40

/* ---- layout checks: a mismatch fails the build instead of miscompiling ---------- */

#define HIOD_LAYOUT(type, size) _Static_assert(sizeof(struct type) == (size), #type " size")
#define HIOD_OFFSET(type, field, offset) \
  _Static_assert(offsetof(struct type, field) == (offset), #type "." #field " offset")

HIOD_LAYOUT(hiod_vfio_group_status, 8);
HIOD_LAYOUT(hiod_vfio_iommu_type1_info, 24);
HIOD_OFFSET(hiod_vfio_iommu_type1_info, iova_pgsizes, 8);
HIOD_OFFSET(hiod_vfio_iommu_type1_info, cap_offset, 16);
HIOD_LAYOUT(hiod_vfio_info_cap_header, 8);
HIOD_OFFSET(hiod_vfio_info_cap_header, next, 4);
HIOD_LAYOUT(hiod_vfio_iova_range, 16);
HIOD_LAYOUT(hiod_vfio_iommu_type1_info_cap_iova_range, 16);
HIOD_OFFSET(hiod_vfio_iommu_type1_info_cap_iova_range, nr_iovas, 8);
HIOD_LAYOUT(hiod_vfio_iommu_type1_info_cap_migration, 32);
HIOD_OFFSET(hiod_vfio_iommu_type1_info_cap_migration, pgsize_bitmap, 16);
HIOD_LAYOUT(hiod_vfio_iommu_type1_info_dma_avail, 12);
HIOD_OFFSET(hiod_vfio_iommu_type1_info_dma_avail, avail, 8);
HIOD_LAYOUT(hiod_vfio_device_bind_iommufd, 16);
HIOD_OFFSET(hiod_vfio_device_bind_iommufd, iommufd, 8);
HIOD_OFFSET(hiod_vfio_device_bind_iommufd, out_devid, 12);
HIOD_LAYOUT(hiod_vfio_device_attach_iommufd_pt, 12);
HIOD_OFFSET(hiod_vfio_device_attach_iommufd_pt, pt_id, 8);
HIOD_LAYOUT(hiod_vfio_device_detach_iommufd_pt, 8);
HIOD_LAYOUT(hiod_iommu_destroy, 8);
HIOD_LAYOUT(hiod_iommu_ioas_alloc, 12);
HIOD_OFFSET(hiod_iommu_ioas_alloc, out_ioas_id, 8);
HIOD_LAYOUT(hiod_iommu_iova_range, 16);
HIOD_LAYOUT(hiod_iommu_ioas_iova_ranges, 32);
HIOD_OFFSET(hiod_iommu_ioas_iova_ranges, num_iovas, 8);
HIOD_OFFSET(hiod_iommu_ioas_iova_ranges, allowed_iovas, 16);
HIOD_OFFSET(hiod_iommu_ioas_iova_ranges, out_iova_alignment, 24);
HIOD_LAYOUT(hiod_iommu_hwpt_alloc, 48);
HIOD_OFFSET(hiod_iommu_hwpt_alloc, pt_id, 12);
HIOD_OFFSET(hiod_iommu_hwpt_alloc, out_hwpt_id, 16);
HIOD_OFFSET(hiod_iommu_hwpt_alloc, data_type, 24);
HIOD_OFFSET(hiod_iommu_hwpt_alloc, data_uptr, 32);
HIOD_OFFSET(hiod_iommu_hwpt_alloc, fault_id, 40);
HIOD_LAYOUT(hiod_iommu_hw_info, 40);
HIOD_OFFSET(hiod_iommu_hw_info, data_len, 12);
HIOD_OFFSET(hiod_iommu_hw_info, data_uptr, 16);
HIOD_OFFSET(hiod_iommu_hw_info, out_data_type, 24);
HIOD_OFFSET(hiod_iommu_hw_info, out_max_pasid_log2, 28);
HIOD_OFFSET(hiod_iommu_hw_info, out_capabilities, 32);
HIOD_LAYOUT(hiod_iommu_hw_info_vtd, 24);
HIOD_OFFSET(hiod_iommu_hw_info_vtd, cap_reg, 8);
HIOD_OFFSET(hiod_iommu_hw_info_vtd, ecap_reg, 16);
HIOD_LAYOUT(hiod_iommu_hw_info_arm_smmuv3, 40);
HIOD_OFFSET(hiod_iommu_hw_info_arm_smmuv3, idr, 8);
HIOD_OFFSET(hiod_iommu_hw_info_arm_smmuv3, iidr, 32);
HIOD_OFFSET(hiod_iommu_hw_info_arm_smmuv3, aidr, 36);
HIOD_LAYOUT(hiod_iommu_hw_info_amd, 16);
HIOD_OFFSET(hiod_iommu_hw_info_amd, efr2, 8);
_Static_assert(HIOD_IOMMU_HW_INFO_VENDOR_MAX >= sizeof(struct hiod_iommu_hw_info_vtd) &&
               HIOD_IOMMU_HW_INFO_VENDOR_MAX >= sizeof(struct hiod_iommu_hw_info_arm_smmuv3) &&
               HIOD_IOMMU_HW_INFO_VENDOR_MAX >= sizeof(struct hiod_iommu_hw_info_amd),
               "vendor buffer holds every vendor struct");

#endif
