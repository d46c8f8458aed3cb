// hiodctl — one PCI function as the host presents it: identity, names, IOMMU and VFIO state.
// SPDX-License-Identifier: GPL-2.0-or-later

/// The numeric identity of a PCI function, from sysfs through libpci.
package struct PCIIdentity: Hashable, Sendable {
  package var vendorID: UInt16
  package var deviceID: UInt16
  /// Base class and subclass (`0x0200` = Ethernet controller), as lspci -n shows it.
  package var classCode: UInt16
  package var progIf: UInt8
  package var revision: UInt8
  /// Absent when sysfs has no subsystem attributes (e.g. some bridges).
  package var subsystemVendorID: UInt16?
  package var subsystemDeviceID: UInt16?

  package init(
    vendorID: UInt16, deviceID: UInt16, classCode: UInt16, progIf: UInt8, revision: UInt8,
    subsystemVendorID: UInt16?, subsystemDeviceID: UInt16?
  ) {
    self.vendorID = vendorID
    self.deviceID = deviceID
    self.classCode = classCode
    self.progIf = progIf
    self.revision = revision
    self.subsystemVendorID = subsystemVendorID
    self.subsystemDeviceID = subsystemDeviceID
  }
}

/// Human-readable names from pci.ids or the udev hwdb; nil where the database has none
/// or names were not asked for (`--numeric`).
package struct PCINames: Hashable, Sendable {
  package var vendor: String?
  package var device: String?
  package var deviceClass: String?
  package var subsystemVendor: String?
  package var subsystemDevice: String?

  package static let none = PCINames()

  package init(
    vendor: String? = nil, device: String? = nil, deviceClass: String? = nil,
    subsystemVendor: String? = nil, subsystemDevice: String? = nil
  ) {
    self.vendor = vendor
    self.device = device
    self.deviceClass = deviceClass
    self.subsystemVendor = subsystemVendor
    self.subsystemDevice = subsystemDevice
  }
}

/// A device node hiodctl reports: where it is on the host, and whether it is there.
package struct DeviceNode: Hashable, Sendable {
  /// The host path (`/dev/vfio/2`), never prefixed with `--sysroot`.
  package var path: String
  package var present: Bool

  package init(path: String, present: Bool) {
    self.path = path
    self.present = present
  }
}

/// A VFIO device cdev (`/dev/vfio/devices/vfioM`), kernel ≥ 6.6 with
/// CONFIG_VFIO_DEVICE_CDEV, found through the device's `vfio-dev/vfioM` directory.
package struct VFIOCdev: Hashable, Sendable {
  /// `vfio0`: the name under `vfio-dev/` and `/dev/vfio/devices/`.
  package var name: String
  /// The node: `/dev/vfio/devices/vfio0`.
  package var node: DeviceNode
  /// `major:minor` from `vfio-dev/vfioM/dev`, which the node must match.
  package var deviceNumber: String?

  package init(name: String, node: DeviceNode, deviceNumber: String?) {
    self.name = name
    self.node = node
    self.deviceNumber = deviceNumber
  }
}

/// One PCI function and everything `hiodctl list` says about it.
package struct PCIDevice: Hashable, Sendable {
  package var address: PCIAddress
  package var identity: PCIIdentity
  package var names: PCINames
  /// The IOMMU group number, nil when the device is not behind an IOMMU.
  package var iommuGroup: Int?
  /// The IOMMU unit translating for the device (`dmar0`, `ivhd0`), from its `iommu` link.
  package var iommuUnit: String?
  /// The bound driver (`vfio-pci`, `e1000e`), nil when unbound.
  package var driver: String?
  /// The device's VFIO cdev, present only while a VFIO driver is bound.
  package var vfioCdev: VFIOCdev?

  package init(
    address: PCIAddress, identity: PCIIdentity, names: PCINames = .none,
    iommuGroup: Int? = nil, iommuUnit: String? = nil, driver: String? = nil,
    vfioCdev: VFIOCdev? = nil
  ) {
    self.address = address
    self.identity = identity
    self.names = names
    self.iommuGroup = iommuGroup
    self.iommuUnit = iommuUnit
    self.driver = driver
    self.vfioCdev = vfioCdev
  }

  /// What the bound driver means for VFIO and for the group's viability.
  package var driverRole: DriverRole { DriverRole(driver: driver) }

  /// Whether a VFIO bus driver (vfio-pci or a vendor variant) owns the device.
  package var isVFIOBound: Bool { driverRole == .vfio }
}

/// How a bound driver affects device assignment.
///
/// The kernel calls a group viable when no member is bound to a driver that uses the
/// DMA API itself (`iommu_group_dma_owner_claimed()`); drivers that set
/// `driver_managed_dma` do not claim it. Those are the VFIO drivers (vfio-pci and the
/// `*_vfio_pci`/`*-vfio-pci` variants, vfio-platform, vfio-cdx…), `pci-stub`, and
/// `pcieport` (PCIe ports in the same group do not block assignment).
package enum DriverRole: String, Sendable, Hashable {
  /// No driver bound: does not block viability, but VFIO cannot use the device yet.
  case unbound
  /// A VFIO bus driver: usable through /dev/vfio.
  case vfio
  /// A driver that manages no DMA of its own (`pci-stub`, `pcieport`).
  case dmaFree = "dma-free"
  /// A host driver doing DMA: blocks every other member of its group.
  case host

  package init(driver: String?) {
    guard let driver else {
      self = .unbound
      return
    }
    if Self.namesVFIO(driver) {
      self = .vfio
    } else if driver == "pci-stub" || driver == "pcieport" {
      self = .dmaFree
    } else {
      self = .host
    }
  }

  /// Whether `driver` has "vfio" in its name (vfio-pci and its variant drivers,
  /// mlx5_vfio_pci, nvgrace_gpu_vfio_pci…). A byte search: the generic
  /// `String.contains(_:)` was a tenth of `list`'s user time on a 4096-function host.
  private static func namesVFIO(_ driver: String) -> Bool {
    let bytes = driver.utf8
    var rest = bytes[...]
    while let start = rest.firstIndex(of: UInt8(ascii: "v")) {
      if rest[start...].starts(with: "vfio".utf8) { return true }
      rest = rest[bytes.index(after: start)...]
    }
    return false
  }

  /// Whether a member with this role keeps its group from being viable.
  package var blocksViability: Bool { self == .host }
}
