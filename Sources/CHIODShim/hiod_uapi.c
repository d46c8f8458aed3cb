/* hiodctl -- cross-checks hiod_uapi.h against the build machine's kernel headers.
 *
 * Everything the installed <linux/vfio.h> also defines must agree with hiodctl's own
 * definitions; what it lacks (iommufd, the cdev ioctls on Debian 12) is checked by the
 * layout asserts in hiod_uapi.h and the numbers pinned in IoctlNumberTests.
 * SPDX-License-Identifier: GPL-2.0-or-later */
#include "hiod_uapi.h"

#if __has_include(<linux/vfio.h>)
#include <linux/vfio.h>

#define SAME(ours, theirs) _Static_assert((ours) == (theirs), #ours " differs from <linux/vfio.h>")
SAME(HIOD_VFIO_GET_API_VERSION, VFIO_GET_API_VERSION);
SAME(HIOD_VFIO_CHECK_EXTENSION, VFIO_CHECK_EXTENSION);
SAME(HIOD_VFIO_SET_IOMMU, VFIO_SET_IOMMU);
SAME(HIOD_VFIO_GROUP_GET_STATUS, VFIO_GROUP_GET_STATUS);
SAME(HIOD_VFIO_GROUP_SET_CONTAINER, VFIO_GROUP_SET_CONTAINER);
SAME(HIOD_VFIO_GROUP_UNSET_CONTAINER, VFIO_GROUP_UNSET_CONTAINER);
SAME(HIOD_VFIO_IOMMU_GET_INFO, VFIO_IOMMU_GET_INFO);
SAME(HIOD_VFIO_TYPE1v2_IOMMU, VFIO_TYPE1v2_IOMMU);
SAME(HIOD_VFIO_NOIOMMU_IOMMU, VFIO_NOIOMMU_IOMMU);
SAME(HIOD_VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
SAME(HIOD_VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
SAME(sizeof(struct hiod_vfio_group_status), sizeof(struct vfio_group_status));
SAME(sizeof(struct hiod_vfio_iommu_type1_info), sizeof(struct vfio_iommu_type1_info));
SAME(sizeof(struct hiod_vfio_iova_range), sizeof(struct vfio_iova_range));
SAME(sizeof(struct hiod_vfio_info_cap_header), sizeof(struct vfio_info_cap_header));
#ifdef VFIO_DEVICE_BIND_IOMMUFD
SAME(HIOD_VFIO_DEVICE_BIND_IOMMUFD, VFIO_DEVICE_BIND_IOMMUFD);
SAME(sizeof(struct hiod_vfio_device_bind_iommufd) <= sizeof(struct vfio_device_bind_iommufd), 1);
#endif
#endif

#if __has_include(<linux/iommufd.h>)
#include <linux/iommufd.h>
SAME(HIOD_IOMMU_IOAS_ALLOC, IOMMU_IOAS_ALLOC);
SAME(HIOD_IOMMU_IOAS_IOVA_RANGES, IOMMU_IOAS_IOVA_RANGES);
SAME(HIOD_IOMMU_GET_HW_INFO, IOMMU_GET_HW_INFO);
SAME(HIOD_IOMMU_HWPT_ALLOC, IOMMU_HWPT_ALLOC);
SAME(HIOD_IOMMU_DESTROY, IOMMU_DESTROY);
#endif

/* Gives the translation unit a symbol; the file exists for its compile-time checks. */
int hiod_uapi_checked(void) { return 1; }
