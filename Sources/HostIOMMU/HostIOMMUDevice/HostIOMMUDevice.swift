// hiodctl — QEMU's HostIOMMUDevice: what QEMU's VFIO code knows about the host IOMMU
// behind an assigned device once it has realized it.
// SPDX-License-Identifier: GPL-2.0-or-later

package import SystemPackage

/// Which HostIOMMUDevice implementation produced an answer (QEMU's class tree, plus
/// hiodctl's unprivileged predictor).
package enum HostIOMMUBackend: String, Sendable, Hashable, CaseIterable {
  /// VFIO group + type1 container (`TYPE_HOST_IOMMU_DEVICE_LEGACY_VFIO`).
  case legacy
  /// VFIO cdev + /dev/iommu (`TYPE_HOST_IOMMU_DEVICE_IOMMUFD_VFIO`).
  case iommufd
  /// No kernel object at all: a prediction from sysfs, never the kernel's answer.
  case sysfs

  /// QEMU's QOM type name for the realized object.
  package var qemuType: String {
    switch self {
    case .legacy: "host-iommu-device-legacy-vfio"
    case .iommufd: "host-iommu-device-iommufd-vfio"
    case .sysfs: "none (predicted from sysfs)"
    }
  }
}

/// Where a value came from: the backend and the ioctl or file that gave it.
package struct Provenance: Hashable, Sendable {
  package var backend: HostIOMMUBackend
  /// `VFIO_IOMMU_GET_INFO: IOVA_RANGE capability`, `/sys/class/iommu/dmar0/intel-iommu/cap`.
  package var origin: String

  package init(_ backend: HostIOMMUBackend, _ origin: String) {
    self.backend = backend
    self.origin = origin
  }

  /// A sysfs-derived value is a prediction of what the kernel would answer.
  package var isPrediction: Bool { backend == .sysfs }
}

/// A value with its provenance.
package struct Sourced<Value: Hashable & Sendable>: Hashable, Sendable {
  package var value: Value
  package var provenance: Provenance

  package init(_ value: Value, _ provenance: Provenance) {
    self.value = value
    self.provenance = provenance
  }
}

/// `enum iommu_hw_info_type`: what kind of IOMMU serves the device.
package struct IOMMUHardwareType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
  package let rawValue: UInt32
  package init(rawValue: UInt32) { self.rawValue = rawValue }

  package static let none = IOMMUHardwareType(rawValue: 0)
  package static let intelVTd = IOMMUHardwareType(rawValue: 1)
  package static let armSMMUv3 = IOMMUHardwareType(rawValue: 2)
  package static let tegra241CMDQV = IOMMUHardwareType(rawValue: 3)
  package static let amd = IOMMUHardwareType(rawValue: 4)

  /// The kernel's name without the `IOMMU_HW_INFO_TYPE_` prefix.
  package var name: String {
    switch rawValue {
    case 0: "NONE"
    case 1: "INTEL_VTD"
    case 2: "ARM_SMMUV3"
    case 3: "TEGRA241_CMDQV"
    case 4: "AMD"
    default: "UNKNOWN"
    }
  }

  package var description: String { "\(name) (\(rawValue))" }
}

/// QEMU's `VendorCaps`: the raw vendor registers `IOMMU_GET_HW_INFO` returns (or sysfs
/// shows). Kept raw here; `Decoders/` names the fields.
package enum VendorCaps: Hashable, Sendable {
  case intelVTd(flags: UInt32, capability: UInt64, extendedCapability: UInt64)
  case armSMMUv3(flags: UInt32, idr: [UInt32], iidr: UInt32, aidr: UInt32)
  case amd(efr: UInt64, efr2: UInt64)
  /// A type hiodctl does not decode; the bytes the kernel returned.
  case other(type: IOMMUHardwareType, bytes: [UInt8])
}

/// QEMU's `HostIOMMUDeviceCaps`. The legacy backend fills none of these (QEMU's
/// legacy realize issues no ioctl of its own); iommufd fills them from
/// `IOMMU_GET_HW_INFO`; the sysfs predictor fills what sysfs shows.
package struct HostIOMMUDeviceCaps: Hashable, Sendable {
  package var type: Sourced<IOMMUHardwareType>?
  /// `out_capabilities` (`IOMMU_HW_CAP_*`).
  package var hwCaps: Sourced<UInt64>?
  /// `out_max_pasid_log2`: 0 when PASID is off for the device or the kernel is older.
  package var maxPASIDLog2: Sourced<UInt8>?
  package var vendor: Sourced<VendorCaps>?

  package init(
    type: Sourced<IOMMUHardwareType>? = nil, hwCaps: Sourced<UInt64>? = nil,
    maxPASIDLog2: Sourced<UInt8>? = nil, vendor: Sourced<VendorCaps>? = nil
  ) {
    self.type = type
    self.hwCaps = hwCaps
    self.maxPASIDLog2 = maxPASIDLog2
    self.vendor = vendor
  }
}

/// `HOST_IOMMU_DEVICE_CAP_*`: the capabilities `get_cap` answers.
package enum HostIOMMUDeviceCapability: UInt32, Sendable, CaseIterable {
  case iommuType = 0
  case awBits = 1
}

/// What `get_cap` returns.
package enum CapabilityAnswer: Hashable, Sendable {
  case value(UInt64, Provenance)
  /// QEMU's error for a capability the backend cannot answer.
  case unsupported(message: String)
  /// hiodctl could not find out (the predictor lacks the information).
  case unknown(reason: String)
}

/// Whether the kernel lets the device's IOMMU allocate a nesting-parent HWPT, which
/// intel-iommu `x-flts=on` and arm-smmuv3 `accel=on` need.
package struct NestingParentProbe: Hashable, Sendable {
  package var allowed: Bool
  /// The errno of a refused `IOMMU_HWPT_ALLOC` (EOPNOTSUPP: no ECAP.NEST/SMTS).
  package var refusal: Errno?
  package var provenance: Provenance

  package init(allowed: Bool, refusal: Errno?, provenance: Provenance) {
    self.allowed = allowed
    self.refusal = refusal
    self.provenance = provenance
  }
}

/// What the legacy container set-up showed besides ranges and page sizes.
package struct LegacyContainerInfo: Hashable, Sendable {
  /// The IOMMU model set on the container (`VFIO_TYPE1v2_IOMMU` = 3).
  package var iommuModel: Int32
  /// `VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL`: how many more DMA mappings the container allows
  /// (the `dma_entry_limit` module parameter); nil on kernels without the capability.
  package var dmaMappingsAvailable: UInt32?
  /// Whether the kernel reports dirty-page tracking for migration (`CAP_MIGRATION`).
  package var migrationCapable: Bool
  /// `VFIO_CHECK_EXTENSION(VFIO_UNMAP_ALL)`.
  package var unmapAll: Bool

  package init(iommuModel: Int32, dmaMappingsAvailable: UInt32?, migrationCapable: Bool, unmapAll: Bool) {
    self.iommuModel = iommuModel
    self.dmaMappingsAvailable = dmaMappingsAvailable
    self.migrationCapable = migrationCapable
    self.unmapAll = unmapAll
  }
}

/// The iommufd objects hiodctl made to realize the device (all destroyed again).
package struct IOMMUFDObjects: Hashable, Sendable {
  /// `out_devid` of `VFIO_DEVICE_BIND_IOMMUFD`.
  package var deviceID: UInt32
  package var ioasID: UInt32
  /// The HWPT the device was attached to, as QEMU allocates it.
  package var hwptID: UInt32
  /// `IOMMU_HWPT_ALLOC` flags used (`DIRTY_TRACKING` when the hardware has it, as QEMU).
  package var hwptFlags: UInt32

  package init(deviceID: UInt32, ioasID: UInt32, hwptID: UInt32, hwptFlags: UInt32) {
    self.deviceID = deviceID
    self.ioasID = ioasID
    self.hwptID = hwptID
    self.hwptFlags = hwptFlags
  }
}

/// A realized HostIOMMUDevice, as QEMU's `hiod` would hold it after realize: the
/// capabilities, the usable IOVA ranges and the page-size mask — each with where it
/// came from. All kernel objects used to learn them have been released again.
package struct HostIOMMUDevice: Hashable, Sendable {
  /// The VFIO device name (`0000:00:02.0`), QEMU's `hiod->name`.
  package var name: String
  package var backend: HostIOMMUBackend
  package var caps: HostIOMMUDeviceCaps
  /// `get_iova_ranges`, ascending; nil when the predictor cannot tell.
  package var iovaRanges: Sourced<[IOVARange]>?
  /// `get_page_size_mask`.
  package var pageSizeMask: Sourced<UInt64>?
  package var nestingParent: NestingParentProbe?
  package var legacy: LegacyContainerInfo?
  package var iommufd: IOMMUFDObjects?
  /// Assumptions and oddities worth stating next to the values.
  package var notes: [String]

  package init(
    name: String, backend: HostIOMMUBackend, caps: HostIOMMUDeviceCaps = HostIOMMUDeviceCaps(),
    iovaRanges: Sourced<[IOVARange]>?, pageSizeMask: Sourced<UInt64>?,
    nestingParent: NestingParentProbe? = nil, legacy: LegacyContainerInfo? = nil,
    iommufd: IOMMUFDObjects? = nil, notes: [String] = []
  ) {
    self.name = name
    self.backend = backend
    self.caps = caps
    self.iovaRanges = iovaRanges
    self.pageSizeMask = pageSizeMask
    self.nestingParent = nestingParent
    self.legacy = legacy
    self.iommufd = iommufd
    self.notes = notes
  }

  /// The host address width as QEMU computes it from the ranges (nil: ranges unknown).
  package var awBits: Int? { iovaRanges.map { qemuAWBits($0.value) } }

  /// QEMU's `HostIOMMUDeviceClass.get_cap`.
  ///
  /// The legacy backend answers only `AW_BITS` — "There is no VFIO uAPI to query host
  /// platform IOMMU type" — and fails every other capability with QEMU's message.
  package func getCap(_ capability: HostIOMMUDeviceCapability) -> CapabilityAnswer {
    switch capability {
    case .awBits:
      guard let ranges = iovaRanges, let bits = awBits else {
        return .unknown(reason: "the IOVA ranges are not known without the kernel")
      }
      return .value(UInt64(bits), ranges.provenance)
    case .iommuType:
      if backend == .legacy {
        return .unsupported(message: "\(name): unsupported capability \(String(capability.rawValue, radix: 16))")
      }
      guard let type = caps.type else {
        return .unknown(reason: "sysfs does not say which IOMMU serves the device")
      }
      return .value(UInt64(type.value.rawValue), type.provenance)
    }
  }
}
