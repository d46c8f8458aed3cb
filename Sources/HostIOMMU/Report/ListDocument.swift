// hiodctl — the JSON contract of `hiodctl --json list` (schema_version 1).
// SPDX-License-Identifier: GPL-2.0-or-later
//
// Keys are snake_case and always present (null when unknown) so scripts can rely on the
// shape; consumers must ignore keys they do not know, and schema_version only changes
// when an existing key changes meaning or type. 64-bit values (registers, addresses)
// are "0x"-prefixed 16-digit hex strings: JSON numbers lose precision above 2^53. PCI
// IDs are bare lower-case hex strings, as `lspci -n` prints them.

/// The version of every JSON document hiodctl prints.
package enum JSONSchema {
  package static let version = 1
}

/// A JSON key known only at run time: a backend or vIOMMU model name, a register
/// field, a key chosen by the caller.
struct NamedKey: CodingKey {
  let stringValue: String
  init(stringValue: String) { self.stringValue = stringValue }
  var intValue: Int? { nil }
  init?(intValue: Int) { nil }
}

/// The document `hiodctl --json list` prints.
package struct ListDocument: Encodable, Sendable {
  package let inventory: HostInventory

  package init(_ inventory: HostInventory) {
    self.inventory = inventory
  }

  enum Key: String, ContractKey {
    case schemaVersion = "schema_version"
    case host, devices, groups, warnings

    static let objectName = "list"
    var field: ContractField {
      switch self {
      case .schemaVersion: ContractField(.integer, "the version of this contract (1)")
      case .host: ContractField(.object(HostEntry.Key.objectName), "what the host offers device assignment")
      case .devices: ContractField(.list(.object(DeviceEntry.Key.objectName)), "every PCI function, in address order")
      case .groups: ContractField(.list(.object(IOMMUGroup.Key.objectName)), "every IOMMU group, by number")
      case .warnings: ContractField(.list(.string), "what could not be read; the scan carried on")
      }
    }
  }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    for key in Key.allCases {
      switch key {
      case .schemaVersion: try container.encode(JSONSchema.version, forKey: key)
      case .host:
        try container.encode(
          HostEntry(sysroot: inventory.sysroot, facts: inventory.facts, diagnoses: inventory.diagnoses), forKey: key)
      case .devices:
        try container.encode(
          inventory.devices.map { DeviceEntry(device: $0, group: inventory.group($0.iommuGroup)) }, forKey: key)
      case .groups: try container.encode(inventory.groups, forKey: key)
      case .warnings: try container.encode(inventory.warnings, forKey: key)
      }
    }
  }
}

struct HostEntry: Encodable {
  let sysroot: String
  let facts: HostFacts
  let diagnoses: [Diagnosis]

  enum Key: String, ContractKey {
    case sysroot
    case iommuUnits = "iommu_units"
    case iommuGroupCount = "iommu_group_count"
    case vfioContainer = "vfio_container"
    case iommufd
    case interruptRemapping = "interrupt_remapping"
    case unsafeInterrupts = "unsafe_interrupts"
    case cpuVendor = "cpu_vendor"
    case diagnoses
    case iommuGroupsError = "iommu_groups_error"
    case kernelCommandLine = "kernel_cmdline"
    case modules
    case noIOMMUMode = "noiommu_mode"
    case hypervisor
    case upstreamPorts = "upstream_ports"
    case devicesInUse = "devices_in_use"

    static let objectName = "host"
    var field: ContractField {
      switch self {
      case .sysroot: ContractField(.string, "the tree read: / for the live host, else --sysroot or the snapshot")
      case .iommuUnits: ContractField(.list(.object(IOMMUUnit.Key.objectName)), "the IOMMU units in /sys/class/iommu")
      case .iommuGroupCount: ContractField(.integer, "how many IOMMU groups the kernel made")
      case .vfioContainer: ContractField(.object(DeviceNode.Key.objectName), "/dev/vfio/vfio, the legacy container")
      case .iommufd: ContractField(.object(DeviceNode.Key.objectName), "/dev/iommu, the iommufd backend's node")
      case .interruptRemapping:
        ContractField(.choice(choices(of: InterruptRemapping.self)), "whether the IOMMU remaps interrupts")
      case .unsafeInterrupts:
        ContractField(
          .object(UnsafeInterruptsPolicy.Key.objectName), "the allow_unsafe_interrupts parameters of both backends")
      case .cpuVendor: ContractField(.nullable(.choice(choices(of: CPUVendor.self))), "the CPU's vendor")
      case .diagnoses:
        ContractField(.list(.object(Diagnosis.Key.objectName)), "what stands in the way of device assignment")
      case .iommuGroupsError:
        ContractField(.nullable(.string), "why /sys/kernel/iommu_groups could not be listed", since: 1)
      case .kernelCommandLine: ContractField(.nullable(.string), "/proc/cmdline; null when not recorded")
      case .modules: ContractField(.nullable(.map(.boolean)), "whether each VFIO module is loaded; null: not recorded")
      case .noIOMMUMode:
        ContractField(.nullable(.boolean), "vfio's enable_unsafe_noiommu_mode; null when not shown")
      case .hypervisor: ContractField(.nullable(.string), "the hypervisor this host runs under, if any")
      case .upstreamPorts:
        ContractField(.list(.object(PortACS.Key.objectName)), "the ports above devices, with their ACS state")
      case .devicesInUse:
        ContractField(
          .nullable(.list(.object(DeviceUse.Key.objectName))), "devices the host itself uses (disks, routes)")
      }
    }
  }

  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    for key in Key.allCases {
      switch key {
      case .sysroot: try container.encode(sysroot, forKey: key)
      case .iommuUnits: try container.encode(facts.iommuUnits, forKey: key)
      case .iommuGroupCount: try container.encode(facts.iommuGroupCount, forKey: key)
      case .vfioContainer: try container.encode(facts.vfioContainer, forKey: key)
      case .iommufd: try container.encode(facts.iommufd, forKey: key)
      case .interruptRemapping: try container.encode(facts.interruptRemapping.rawValue, forKey: key)
      case .unsafeInterrupts: try container.encode(facts.unsafeInterrupts, forKey: key)
      case .cpuVendor: try container.encode(facts.cpuVendor?.rawValue, forKey: key)
      case .diagnoses: try container.encode(diagnoses, forKey: key)
      case .iommuGroupsError: try container.encode(facts.iommuGroupsError, forKey: key)
      case .kernelCommandLine: try container.encode(facts.kernelCommandLine, forKey: key)
      case .modules: try container.encode(facts.modules, forKey: key)
      case .noIOMMUMode: try container.encode(facts.noIOMMUMode, forKey: key)
      case .hypervisor: try container.encode(facts.hypervisor, forKey: key)
      case .upstreamPorts: try container.encode(facts.upstreamPorts, forKey: key)
      case .devicesInUse: try container.encode(facts.devicesInUse, forKey: key)
      }
    }
  }
}

extension PortACS: Encodable {
  enum Key: String, ContractKey {
    case port, type, acs, enabled, missing, devices

    static let objectName = "upstream_port"
    var field: ContractField {
      switch self {
      case .port: ContractField(.pciAddress, "the port")
      case .type: ContractField(.choice(choices(of: PortACS.PortType.self)), "what kind of port")
      case .acs: ContractField(.choice(choices(of: PortACS.State.self)), "its ACS state")
      case .enabled: ContractField(.list(.string), "the ACS controls enabled")
      case .missing: ContractField(.list(.string), "the controls Linux requires that are off")
      case .devices: ContractField(.list(.pciAddress), "the functions below it")
      }
    }
  }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    for key in Key.allCases {
      switch key {
      case .port: try container.encode(port.description, forKey: key)
      case .type: try container.encode(type.rawValue, forKey: key)
      case .acs: try container.encode(state.rawValue, forKey: key)
      case .enabled: try container.encode(enabled, forKey: key)
      case .missing: try container.encode(missing, forKey: key)
      case .devices: try container.encode(devices.map(\.description), forKey: key)
      }
    }
  }
}

extension DeviceUse: Encodable {
  enum Key: String, ContractKey {
    case bdf, use

    static let objectName = "device_in_use"
    var field: ContractField {
      switch self {
      case .bdf: ContractField(.pciAddress, "the function")
      case .use: ContractField(.string, "what the host uses it for")
      }
    }
  }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    for key in Key.allCases {
      switch key {
      case .bdf: try container.encode(device.description, forKey: key)
      case .use: try container.encode(use, forKey: key)
      }
    }
  }
}

struct DeviceEntry: Encodable {
  let device: PCIDevice
  let group: IOMMUGroup?

  enum Key: String, ContractKey {
    case bdf, domain, bus, device, function
    case vendorID = "vendor_id"
    case deviceID = "device_id"
    case classCode = "class"
    case progIf = "prog_if"
    case revision
    case subsystemVendorID = "subsystem_vendor_id"
    case subsystemDeviceID = "subsystem_device_id"
    case vendorName = "vendor_name"
    case deviceName = "device_name"
    case className = "class_name"
    case subsystemVendorName = "subsystem_vendor_name"
    case subsystemDeviceName = "subsystem_device_name"
    case iommuGroup = "iommu_group"
    case iommuUnit = "iommu_unit"
    case driver
    case vfioBound = "vfio_bound"
    case vfioGroupNode = "vfio_group_node"
    case vfioCdev = "vfio_cdev"
    case viable

    static let objectName = "device"
    var field: ContractField {
      switch self {
      case .bdf: ContractField(.pciAddress, "the function's address")
      case .domain: ContractField(.integer, "its PCI domain")
      case .bus: ContractField(.integer, "its bus")
      case .device: ContractField(.integer, "its device number")
      case .function: ContractField(.integer, "its function number")
      case .vendorID: ContractField(.hex(digits: 4), "the vendor ID")
      case .deviceID: ContractField(.hex(digits: 4), "the device ID")
      case .classCode: ContractField(.hex(digits: 4), "class and subclass")
      case .progIf: ContractField(.hex(digits: 2), "the programming interface")
      case .revision: ContractField(.hex(digits: 2), "the revision")
      case .subsystemVendorID: ContractField(.nullable(.hex(digits: 4)), "the subsystem vendor ID")
      case .subsystemDeviceID: ContractField(.nullable(.hex(digits: 4)), "the subsystem device ID")
      case .vendorName: ContractField(.nullable(.string), "the vendor's name in pci.ids")
      case .deviceName: ContractField(.nullable(.string), "the device's name in pci.ids")
      case .className: ContractField(.nullable(.string), "the class's name in pci.ids")
      case .subsystemVendorName: ContractField(.nullable(.string), "the subsystem vendor's name")
      case .subsystemDeviceName: ContractField(.nullable(.string), "the subsystem's name")
      case .iommuGroup: ContractField(.nullable(.integer), "its IOMMU group; null without one")
      case .iommuUnit: ContractField(.nullable(.string), "the IOMMU unit that translates for it")
      case .driver: ContractField(.nullable(.string), "the bound driver")
      case .vfioBound: ContractField(.boolean, "whether a VFIO driver is bound")
      case .vfioGroupNode:
        ContractField(.nullable(.object(DeviceNode.Key.objectName)), "its group's /dev/vfio node, when VFIO-bound")
      case .vfioCdev: ContractField(.nullable(.object(VFIOCdev.Key.objectName)), "its VFIO cdev (iommufd backend)")
      case .viable: ContractField(.nullable(.boolean), "whether its group is viable; null without a group")
      }
    }
  }

  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    let address = device.address
    let id = device.identity
    for key in Key.allCases {
      switch key {
      case .bdf: try container.encode(address.description, forKey: key)
      case .domain: try container.encode(address.domain, forKey: key)
      case .bus: try container.encode(address.bus, forKey: key)
      case .device: try container.encode(address.device, forKey: key)
      case .function: try container.encode(address.function, forKey: key)
      case .vendorID: try container.encode(id.vendorID.hex(width: 4), forKey: key)
      case .deviceID: try container.encode(id.deviceID.hex(width: 4), forKey: key)
      case .classCode: try container.encode(id.classCode.hex(width: 4), forKey: key)
      case .progIf: try container.encode(id.progIf.hex(width: 2), forKey: key)
      case .revision: try container.encode(id.revision.hex(width: 2), forKey: key)
      case .subsystemVendorID: try container.encode(id.subsystemVendorID?.hex(width: 4), forKey: key)
      case .subsystemDeviceID: try container.encode(id.subsystemDeviceID?.hex(width: 4), forKey: key)
      case .vendorName: try container.encode(device.names.vendor, forKey: key)
      case .deviceName: try container.encode(device.names.device, forKey: key)
      case .className: try container.encode(device.names.deviceClass, forKey: key)
      case .subsystemVendorName: try container.encode(device.names.subsystemVendor, forKey: key)
      case .subsystemDeviceName: try container.encode(device.names.subsystemDevice, forKey: key)
      case .iommuGroup: try container.encode(device.iommuGroup, forKey: key)
      case .iommuUnit: try container.encode(device.iommuUnit, forKey: key)
      case .driver: try container.encode(device.driver, forKey: key)
      case .vfioBound: try container.encode(device.isVFIOBound, forKey: key)
      case .vfioGroupNode: try container.encode(device.isVFIOBound ? group?.vfioNode : nil, forKey: key)
      case .vfioCdev: try container.encode(device.vfioCdev, forKey: key)
      case .viable: try container.encode(group?.isViable, forKey: key)
      }
    }
  }
}

extension DeviceNode: Encodable {
  enum Key: String, ContractKey {
    case path, present

    static let objectName = "device_node"
    var field: ContractField {
      switch self {
      case .path: ContractField(.string, "the node's path")
      case .present: ContractField(.boolean, "whether it exists as a character device")
      }
    }
  }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    for key in Key.allCases {
      switch key {
      case .path: try container.encode(path, forKey: key)
      case .present: try container.encode(present, forKey: key)
      }
    }
  }
}

extension VFIOCdev: Encodable {
  enum Key: String, ContractKey {
    case name, path, dev, present

    static let objectName = "vfio_cdev"
    var field: ContractField {
      switch self {
      case .name: ContractField(.string, "the cdev's name (vfio0)")
      case .path: ContractField(.string, "its node, /dev/vfio/devices/NAME")
      case .dev: ContractField(.nullable(.deviceNumber), "its device number from sysfs")
      case .present: ContractField(.boolean, "whether the node exists")
      }
    }
  }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    for key in Key.allCases {
      switch key {
      case .name: try container.encode(name, forKey: key)
      case .path: try container.encode(node.path, forKey: key)
      case .dev: try container.encode(deviceNumber, forKey: key)
      case .present: try container.encode(node.present, forKey: key)
      }
    }
  }
}

extension IOMMUGroup: Encodable {
  enum Key: String, ContractKey {
    case id, type, name, noiommu, devices, members
    case reservedRegions = "reserved_regions"
    case vfioNode = "vfio_node"
    case viable, blockers

    static let objectName = "group"
    var field: ContractField {
      switch self {
      case .id: ContractField(.integer, "the group's number")
      case .type: ContractField(.nullable(.string), "its domain type (DMA, DMA-FQ, identity, blocked)")
      case .name: ContractField(.nullable(.string), "its name, when the kernel gives one")
      case .noiommu: ContractField(.boolean, "whether it is a no-IOMMU group (no isolation)")
      case .devices: ContractField(.list(.pciAddress), "its members' addresses")
      case .members: ContractField(.list(.object(GroupMember.Key.objectName)), "its members with their drivers")
      case .reservedRegions:
        ContractField(.list(.object(ReservedRegion.Key.objectName)), "its reserved_regions: IOVA the VM cannot use")
      case .vfioNode: ContractField(.nullable(.object(DeviceNode.Key.objectName)), "its /dev/vfio node")
      case .viable: ContractField(.boolean, "whether every member is bound to a VFIO driver or none")
      case .blockers:
        ContractField(.list(.object(GroupMember.Key.objectName)), "the members that make it not viable")
      }
    }
  }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    for key in Key.allCases {
      switch key {
      case .id: try container.encode(id, forKey: key)
      case .type: try container.encode(type, forKey: key)
      case .name: try container.encode(name, forKey: key)
      case .noiommu: try container.encode(isNoIOMMU, forKey: key)
      case .devices: try container.encode(members.map(\.name), forKey: key)
      case .members: try container.encode(members, forKey: key)
      case .reservedRegions: try container.encode(reservedRegions, forKey: key)
      case .vfioNode: try container.encode(vfioNode, forKey: key)
      case .viable: try container.encode(isViable, forKey: key)
      case .blockers: try container.encode(blockers, forKey: key)
      }
    }
  }
}

extension GroupMember: Encodable {
  enum Key: String, ContractKey {
    case device, driver

    static let objectName = "group_member"
    var field: ContractField {
      switch self {
      case .device: ContractField(.pciAddress, "the member")
      case .driver: ContractField(.nullable(.string), "its driver")
      }
    }
  }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    for key in Key.allCases {
      switch key {
      case .device: try container.encode(name, forKey: key)
      case .driver: try container.encode(driver, forKey: key)
      }
    }
  }
}

extension ReservedRegion: Encodable {
  enum Key: String, ContractKey {
    case start, end, type

    static let objectName = "reserved_region"
    var field: ContractField {
      switch self {
      case .start: ContractField(.hex64, "the first address")
      case .end: ContractField(.hex64, "the last address (inclusive)")
      case .type: ContractField(.string, "the kernel's type (msi, direct, direct-relaxable, reserved)")
      }
    }
  }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    for key in Key.allCases {
      switch key {
      case .start: try container.encode(start.hex64, forKey: key)
      case .end: try container.encode(end.hex64, forKey: key)
      case .type: try container.encode(type.rawValue, forKey: key)
      }
    }
  }
}

extension IOMMUUnit: Encodable {
  enum Key: String, ContractKey {
    case name, vendor
    case intelVTd = "intel_vtd"
    case amdVi = "amd_vi"

    static let objectName = "iommu_unit"
    var field: ContractField {
      switch self {
      case .name: ContractField(.string, "the unit's name in /sys/class/iommu")
      case .vendor: ContractField(.choice(choices(of: IOMMUVendor.self)), "its kind")
      case .intelVTd: ContractField(.nullable(.object(IntelKey.objectName)), "its VT-d registers; null for others")
      case .amdVi: ContractField(.nullable(.object(AMDKey.objectName)), "its AMD-Vi registers; null for others")
      }
    }
  }
  enum IntelKey: String, ContractKey {
    case version, cap, ecap

    static let objectName = "intel_vtd"
    var field: ContractField {
      switch self {
      case .version: ContractField(.nullable(.string), "the VT-d version register")
      case .cap: ContractField(.hex64, "the capability register")
      case .ecap: ContractField(.hex64, "the extended capability register")
      }
    }
  }
  enum AMDKey: String, ContractKey {
    case cap, features

    static let objectName = "amd_vi"
    var field: ContractField {
      switch self {
      case .cap: ContractField(.nullable(.string), "the capability header, 0x and 8 hex digits")
      case .features: ContractField(.nullable(.string), "the features attribute as sysfs prints it")
      }
    }
  }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    for key in Key.allCases {
      switch key {
      case .name: try container.encode(name, forKey: key)
      case .vendor: try container.encode(vendor.rawValue, forKey: key)
      case .intelVTd:
        guard let intelVTd else {
          try container.encodeNil(forKey: key)
          continue
        }
        var registers = container.nestedContainer(keyedBy: IntelKey.self, forKey: key)
        for register in IntelKey.allCases {
          switch register {
          case .version: try registers.encode(intelVTd.version, forKey: register)
          case .cap: try registers.encode(intelVTd.capability.hex64, forKey: register)
          case .ecap: try registers.encode(intelVTd.extendedCapability.hex64, forKey: register)
          }
        }
      case .amdVi:
        guard let amdVi else {
          try container.encodeNil(forKey: key)
          continue
        }
        var registers = container.nestedContainer(keyedBy: AMDKey.self, forKey: key)
        for register in AMDKey.allCases {
          switch register {
          case .cap: try registers.encode(amdVi.capability.map { "0x" + $0.hex(width: 8) }, forKey: register)
          case .features: try registers.encode(amdVi.features, forKey: register)
          }
        }
      }
    }
  }
}

extension UnsafeInterruptsPolicy: Encodable {
  enum Key: String, ContractKey {
    case vfioIOMMUType1 = "vfio_iommu_type1"
    case iommufd

    static let objectName = "unsafe_interrupts"
    var field: ContractField {
      switch self {
      case .vfioIOMMUType1:
        ContractField(.nullable(.boolean), "vfio_iommu_type1.allow_unsafe_interrupts; null when not shown")
      case .iommufd: ContractField(.nullable(.boolean), "iommufd.allow_unsafe_interrupts; null when not shown")
      }
    }
  }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    for key in Key.allCases {
      switch key {
      case .vfioIOMMUType1: try container.encode(vfioType1, forKey: key)
      case .iommufd: try container.encode(iommufd, forKey: key)
      }
    }
  }
}

extension Diagnosis: Encodable {
  enum Key: String, ContractKey {
    case severity, code, message, hint

    static let objectName = "diagnosis"
    var field: ContractField {
      switch self {
      case .severity: ContractField(.choice(choices(of: Diagnosis.Severity.self)), "how much it matters")
      case .code: ContractField(.string, "a stable identifier for scripts")
      case .message: ContractField(.string, "what is wrong")
      case .hint: ContractField(.nullable(.string), "what to do about it")
      }
    }
  }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    for key in Key.allCases {
      switch key {
      case .severity: try container.encode(severity.rawValue, forKey: key)
      case .code: try container.encode(code, forKey: key)
      case .message: try container.encode(message, forKey: key)
      case .hint: try container.encode(hint, forKey: key)
      }
    }
  }
}
