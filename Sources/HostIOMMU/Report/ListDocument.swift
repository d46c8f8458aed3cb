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
package struct ListDocument: ContractDocument, Sendable {
  package static let command = "list"
  package let inventory: HostInventory

  package init(_ inventory: HostInventory) {
    self.inventory = inventory
  }

  package enum Key: String, ContractKey {
    case schemaVersion = "schema_version"
    case host, devices, groups, warnings

    package static let objectName = "list"

    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
      switch self {
      case .schemaVersion: ContractField(.integer, "the version of this contract (1)")
      case .host: ContractField(.object(HostEntry.Key.objectName), "what the host offers device assignment")
      case .devices: ContractField(.list(.object(DeviceEntry.Key.objectName)), "every PCI function, in address order")
      case .groups: ContractField(.list(.object(IOMMUGroup.Key.objectName)), "every IOMMU group, by number")
      case .warnings: ContractField(.list(.string), "what could not be read; the scan carried on")
      }
    }
  }

  package func value(for key: Key) -> ContractValue {
    switch key {
    case .schemaVersion: .integer(JSONSchema.version)
    case .host: .object(HostEntry(sysroot: inventory.sysroot, facts: inventory.facts, diagnoses: inventory.diagnoses))
    case .devices: .objects(inventory.devices.map { DeviceEntry(device: $0, group: inventory.group($0.iommuGroup)) })
    case .groups: .objects(inventory.groups)
    case .warnings: .strings(inventory.warnings)
    }
  }
}

struct HostEntry: ContractObject {
  let sysroot: String
  let facts: HostFacts
  let diagnoses: [Diagnosis]

  package enum Key: String, ContractKey {
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

    package static let objectName = "host"

    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
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

  func value(for key: Key) -> ContractValue {
    switch key {
    case .sysroot: .string(sysroot)
    case .iommuUnits: .objects(facts.iommuUnits)
    case .iommuGroupCount: .integer(facts.iommuGroupCount)
    case .vfioContainer: .object(facts.vfioContainer)
    case .iommufd: .object(facts.iommufd)
    case .interruptRemapping: .string(facts.interruptRemapping.rawValue)
    case .unsafeInterrupts: .object(facts.unsafeInterrupts)
    case .cpuVendor: .string(facts.cpuVendor?.rawValue)
    case .diagnoses: .objects(diagnoses)
    case .iommuGroupsError: .string(facts.iommuGroupsError)
    case .kernelCommandLine: .string(facts.kernelCommandLine)
    case .modules: .optional(facts.modules) { modules in .map(modules.map { ($0.key, .boolean($0.value)) }) }
    case .noIOMMUMode: .boolean(facts.noIOMMUMode)
    case .hypervisor: .string(facts.hypervisor)
    case .upstreamPorts: .objects(facts.upstreamPorts)
    case .devicesInUse: .optional(facts.devicesInUse) { .objects($0) }
    }
  }
}

extension PortACS: ContractObject {
  package enum Key: String, ContractKey {
    case port, type, acs, enabled, missing, devices

    package static let objectName = "upstream_port"

    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
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

  package func value(for key: Key) -> ContractValue {
    switch key {
    case .port: .string(port.description)
    case .type: .string(type.rawValue)
    case .acs: .string(state.rawValue)
    case .enabled: .strings(enabled)
    case .missing: .strings(missing)
    case .devices: .strings(devices.map(\.description))
    }
  }
}

extension DeviceUse: ContractObject {
  package enum Key: String, ContractKey {
    case bdf, use

    package static let objectName = "device_in_use"

    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
      switch self {
      case .bdf: ContractField(.pciAddress, "the function")
      case .use: ContractField(.string, "what the host uses it for")
      }
    }
  }

  package func value(for key: Key) -> ContractValue {
    switch key {
    case .bdf: .string(device.description)
    case .use: .string(use)
    }
  }
}

struct DeviceEntry: ContractObject {
  let device: PCIDevice
  let group: IOMMUGroup?

  package enum Key: String, ContractKey {
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

    package static let objectName = "device"

    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
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

  func value(for key: Key) -> ContractValue {
    let address = device.address
    let id = device.identity
    switch key {
    case .bdf: return .string(address.description)
    case .domain: return .integer(Int(address.domain))
    case .bus: return .integer(Int(address.bus))
    case .device: return .integer(Int(address.device))
    case .function: return .integer(Int(address.function))
    case .vendorID: return .string(id.vendorID.hex(width: 4))
    case .deviceID: return .string(id.deviceID.hex(width: 4))
    case .classCode: return .string(id.classCode.hex(width: 4))
    case .progIf: return .string(id.progIf.hex(width: 2))
    case .revision: return .string(id.revision.hex(width: 2))
    case .subsystemVendorID: return .string(id.subsystemVendorID?.hex(width: 4))
    case .subsystemDeviceID: return .string(id.subsystemDeviceID?.hex(width: 4))
    case .vendorName: return .string(device.names.vendor)
    case .deviceName: return .string(device.names.device)
    case .className: return .string(device.names.deviceClass)
    case .subsystemVendorName: return .string(device.names.subsystemVendor)
    case .subsystemDeviceName: return .string(device.names.subsystemDevice)
    case .iommuGroup: return .integer(device.iommuGroup)
    case .iommuUnit: return .string(device.iommuUnit)
    case .driver: return .string(device.driver)
    case .vfioBound: return .boolean(device.isVFIOBound)
    case .vfioGroupNode: return .object(device.isVFIOBound ? group?.vfioNode : nil)
    case .vfioCdev: return .object(device.vfioCdev)
    case .viable: return .boolean(group?.isViable)
    }
  }
}

extension DeviceNode: ContractObject {
  package enum Key: String, ContractKey {
    case path, present

    package static let objectName = "device_node"

    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
      switch self {
      case .path: ContractField(.string, "the node's path")
      case .present: ContractField(.boolean, "whether it exists as a character device")
      }
    }
  }

  package func value(for key: Key) -> ContractValue {
    switch key {
    case .path: .string(path)
    case .present: .boolean(present)
    }
  }
}

extension VFIOCdev: ContractObject {
  package enum Key: String, ContractKey {
    case name, path, dev, present

    package static let objectName = "vfio_cdev"

    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
      switch self {
      case .name: ContractField(.string, "the cdev's name (vfio0)")
      case .path: ContractField(.string, "its node, /dev/vfio/devices/NAME")
      case .dev: ContractField(.nullable(.deviceNumber), "its device number from sysfs")
      case .present: ContractField(.boolean, "whether the node exists")
      }
    }
  }

  package func value(for key: Key) -> ContractValue {
    switch key {
    case .name: .string(name)
    case .path: .string(node.path)
    case .dev: .string(deviceNumber)
    case .present: .boolean(node.present)
    }
  }
}

extension IOMMUGroup: ContractObject {
  package enum Key: String, ContractKey {
    case id, type, name, noiommu, devices, members
    case reservedRegions = "reserved_regions"
    case vfioNode = "vfio_node"
    case viable, blockers

    package static let objectName = "group"

    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
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

  package func value(for key: Key) -> ContractValue {
    switch key {
    case .id: .integer(id)
    case .type: .string(type)
    case .name: .string(name)
    case .noiommu: .boolean(isNoIOMMU)
    case .devices: .strings(members.map(\.name))
    case .members: .objects(members)
    case .reservedRegions: .objects(reservedRegions)
    case .vfioNode: .object(vfioNode)
    case .viable: .boolean(isViable)
    case .blockers: .objects(blockers)
    }
  }
}

extension GroupMember: ContractObject {
  package enum Key: String, ContractKey {
    case device, driver

    package static let objectName = "group_member"

    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
      switch self {
      case .device: ContractField(.pciAddress, "the member")
      case .driver: ContractField(.nullable(.string), "its driver")
      }
    }
  }

  package func value(for key: Key) -> ContractValue {
    switch key {
    case .device: .string(name)
    case .driver: .string(driver)
    }
  }
}

extension ReservedRegion: ContractObject {
  package enum Key: String, ContractKey {
    case start, end, type

    package static let objectName = "reserved_region"

    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
      switch self {
      case .start: ContractField(.hex64, "the first address")
      case .end: ContractField(.hex64, "the last address (inclusive)")
      case .type: ContractField(.string, "the kernel's type (msi, direct, direct-relaxable, reserved)")
      }
    }
  }

  package func value(for key: Key) -> ContractValue {
    switch key {
    case .start: .string(start.hex64)
    case .end: .string(end.hex64)
    case .type: .string(type.rawValue)
    }
  }
}

extension IOMMUUnit: ContractObject {
  package enum Key: String, ContractKey {
    case name, vendor
    case intelVTd = "intel_vtd"
    case amdVi = "amd_vi"

    package static let objectName = "iommu_unit"

    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
      switch self {
      case .name: ContractField(.string, "the unit's name in /sys/class/iommu")
      case .vendor: ContractField(.choice(choices(of: IOMMUVendor.self)), "its kind")
      case .intelVTd: ContractField(.nullable(.object(IntelKey.objectName)), "its VT-d registers; null for others")
      case .amdVi: ContractField(.nullable(.object(AMDKey.objectName)), "its AMD-Vi registers; null for others")
      }
    }
  }
  package enum IntelKey: String, ContractKey {
    case version, cap, ecap

    package static let objectName = "intel_vtd"

    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
      switch self {
      case .version: ContractField(.nullable(.string), "the VT-d version register")
      case .cap: ContractField(.hex64, "the capability register")
      case .ecap: ContractField(.hex64, "the extended capability register")
      }
    }
  }
  package enum AMDKey: String, ContractKey {
    case cap, features

    package static let objectName = "amd_vi"

    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
      switch self {
      case .cap: ContractField(.nullable(.string), "the capability header, 0x and 8 hex digits")
      case .features: ContractField(.nullable(.string), "the features attribute as sysfs prints it")
      }
    }
  }

  package func value(for key: Key) -> ContractValue {
    switch key {
    case .name: .string(name)
    case .vendor: .string(vendor.rawValue)
    case .intelVTd: .object(intelVTd.map(IntelRegistersEntry.init))
    case .amdVi: .object(amdVi.map(AMDRegistersEntry.init))
    }
  }
}

/// `intel_vtd` of an IOMMU unit.
struct IntelRegistersEntry: ContractObject {
  let registers: IntelVTdRegisters

  func value(for key: IOMMUUnit.IntelKey) -> ContractValue {
    switch key {
    case .version: .string(registers.version)
    case .cap: .string(registers.capability.hex64)
    case .ecap: .string(registers.extendedCapability.hex64)
    }
  }
}

/// `amd_vi` of an IOMMU unit.
struct AMDRegistersEntry: ContractObject {
  let registers: AMDViRegisters

  func value(for key: IOMMUUnit.AMDKey) -> ContractValue {
    switch key {
    case .cap: .string(registers.capability.map { "0x" + $0.hex(width: 8) })
    case .features: .string(registers.features)
    }
  }
}

extension UnsafeInterruptsPolicy: ContractObject {
  package enum Key: String, ContractKey {
    case vfioIOMMUType1 = "vfio_iommu_type1"
    case iommufd

    package static let objectName = "unsafe_interrupts"

    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
      switch self {
      case .vfioIOMMUType1:
        ContractField(.nullable(.boolean), "vfio_iommu_type1.allow_unsafe_interrupts; null when not shown")
      case .iommufd: ContractField(.nullable(.boolean), "iommufd.allow_unsafe_interrupts; null when not shown")
      }
    }
  }

  package func value(for key: Key) -> ContractValue {
    switch key {
    case .vfioIOMMUType1: .boolean(vfioType1)
    case .iommufd: .boolean(iommufd)
    }
  }
}

extension Diagnosis: ContractObject {
  package enum Key: String, ContractKey {
    case severity, code, message, hint

    package static let objectName = "diagnosis"

    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
      switch self {
      case .severity: ContractField(.choice(choices(of: Diagnosis.Severity.self)), "how much it matters")
      case .code: ContractField(.string, "a stable identifier for scripts")
      case .message: ContractField(.string, "what is wrong")
      case .hint: ContractField(.nullable(.string), "what to do about it")
      }
    }
  }

  package func value(for key: Key) -> ContractValue {
    switch key {
    case .severity: .string(severity.rawValue)
    case .code: .string(code)
    case .message: .string(message)
    case .hint: .string(hint)
    }
  }
}
