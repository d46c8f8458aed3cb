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

  enum Key: String, CodingKey {
    case schemaVersion = "schema_version"
    case host, devices, groups, warnings
  }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(JSONSchema.version, forKey: .schemaVersion)
    try container.encode(
      HostEntry(
        sysroot: inventory.sysroot, facts: inventory.facts,
        diagnoses: inventory.diagnoses), forKey: .host)
    try container.encode(
      inventory.devices.map { DeviceEntry(device: $0, group: inventory.group($0.iommuGroup)) },
      forKey: .devices)
    try container.encode(inventory.groups, forKey: .groups)
    try container.encode(inventory.warnings, forKey: .warnings)
  }
}

struct HostEntry: Encodable {
  let sysroot: String
  let facts: HostFacts
  let diagnoses: [Diagnosis]

  enum Key: String, CodingKey {
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
  }

  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(sysroot, forKey: .sysroot)
    try container.encode(facts.iommuUnits, forKey: .iommuUnits)
    try container.encode(facts.iommuGroupCount, forKey: .iommuGroupCount)
    try container.encode(facts.vfioContainer, forKey: .vfioContainer)
    try container.encode(facts.iommufd, forKey: .iommufd)
    try container.encode(facts.interruptRemapping.rawValue, forKey: .interruptRemapping)
    try container.encode(facts.unsafeInterrupts, forKey: .unsafeInterrupts)
    try container.encode(facts.cpuVendor?.rawValue, forKey: .cpuVendor)
    try container.encode(diagnoses, forKey: .diagnoses)
    try container.encode(facts.iommuGroupsError, forKey: .iommuGroupsError)
    try container.encode(facts.kernelCommandLine, forKey: .kernelCommandLine)
    try container.encode(facts.modules, forKey: .modules)
    try container.encode(facts.noIOMMUMode, forKey: .noIOMMUMode)
    try container.encode(facts.hypervisor, forKey: .hypervisor)
    try container.encode(facts.upstreamPorts, forKey: .upstreamPorts)
    try container.encode(facts.devicesInUse, forKey: .devicesInUse)
  }
}

extension PortACS: Encodable {
  enum Key: String, CodingKey { case port, type, acs, enabled, missing, devices }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(port.description, forKey: .port)
    try container.encode(type.rawValue, forKey: .type)
    try container.encode(state.rawValue, forKey: .acs)
    try container.encode(enabled, forKey: .enabled)
    try container.encode(missing, forKey: .missing)
    try container.encode(devices.map(\.description), forKey: .devices)
  }
}

extension DeviceUse: Encodable {
  enum Key: String, CodingKey { case bdf, use }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(device.description, forKey: .bdf)
    try container.encode(use, forKey: .use)
  }
}

struct DeviceEntry: Encodable {
  let device: PCIDevice
  let group: IOMMUGroup?

  enum Key: String, CodingKey {
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
  }

  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    let address = device.address
    let id = device.identity
    try container.encode(address.description, forKey: .bdf)
    try container.encode(address.domain, forKey: .domain)
    try container.encode(address.bus, forKey: .bus)
    try container.encode(address.device, forKey: .device)
    try container.encode(address.function, forKey: .function)
    try container.encode(id.vendorID.hex(width: 4), forKey: .vendorID)
    try container.encode(id.deviceID.hex(width: 4), forKey: .deviceID)
    try container.encode(id.classCode.hex(width: 4), forKey: .classCode)
    try container.encode(id.progIf.hex(width: 2), forKey: .progIf)
    try container.encode(id.revision.hex(width: 2), forKey: .revision)
    try container.encode(id.subsystemVendorID?.hex(width: 4), forKey: .subsystemVendorID)
    try container.encode(id.subsystemDeviceID?.hex(width: 4), forKey: .subsystemDeviceID)
    try container.encode(device.names.vendor, forKey: .vendorName)
    try container.encode(device.names.device, forKey: .deviceName)
    try container.encode(device.names.deviceClass, forKey: .className)
    try container.encode(device.names.subsystemVendor, forKey: .subsystemVendorName)
    try container.encode(device.names.subsystemDevice, forKey: .subsystemDeviceName)
    try container.encode(device.iommuGroup, forKey: .iommuGroup)
    try container.encode(device.iommuUnit, forKey: .iommuUnit)
    try container.encode(device.driver, forKey: .driver)
    try container.encode(device.isVFIOBound, forKey: .vfioBound)
    try container.encode(device.isVFIOBound ? group?.vfioNode : nil, forKey: .vfioGroupNode)
    try container.encode(device.vfioCdev, forKey: .vfioCdev)
    try container.encode(group?.isViable, forKey: .viable)
  }
}

extension DeviceNode: Encodable {
  enum Key: String, CodingKey { case path, present }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(path, forKey: .path)
    try container.encode(present, forKey: .present)
  }
}

extension VFIOCdev: Encodable {
  enum Key: String, CodingKey { case name, path, dev, present }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(name, forKey: .name)
    try container.encode(node.path, forKey: .path)
    try container.encode(deviceNumber, forKey: .dev)
    try container.encode(node.present, forKey: .present)
  }
}

extension IOMMUGroup: Encodable {
  enum Key: String, CodingKey {
    case id, type, name, noiommu, devices, members
    case reservedRegions = "reserved_regions"
    case vfioNode = "vfio_node"
    case viable, blockers
  }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(id, forKey: .id)
    try container.encode(type, forKey: .type)
    try container.encode(name, forKey: .name)
    try container.encode(isNoIOMMU, forKey: .noiommu)
    try container.encode(members.map(\.name), forKey: .devices)
    try container.encode(members, forKey: .members)
    try container.encode(reservedRegions, forKey: .reservedRegions)
    try container.encode(vfioNode, forKey: .vfioNode)
    try container.encode(isViable, forKey: .viable)
    try container.encode(blockers, forKey: .blockers)
  }
}

extension GroupMember: Encodable {
  enum Key: String, CodingKey { case device, driver }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(name, forKey: .device)
    try container.encode(driver, forKey: .driver)
  }
}

extension ReservedRegion: Encodable {
  enum Key: String, CodingKey { case start, end, type }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(start.hex64, forKey: .start)
    try container.encode(end.hex64, forKey: .end)
    try container.encode(type.rawValue, forKey: .type)
  }
}

extension IOMMUUnit: Encodable {
  enum Key: String, CodingKey {
    case name, vendor
    case intelVTd = "intel_vtd"
    case amdVi = "amd_vi"
  }
  enum IntelKey: String, CodingKey { case version, cap, ecap }
  enum AMDKey: String, CodingKey { case cap, features }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(name, forKey: .name)
    try container.encode(vendor.rawValue, forKey: .vendor)
    if let intelVTd {
      var registers = container.nestedContainer(keyedBy: IntelKey.self, forKey: .intelVTd)
      try registers.encode(intelVTd.version, forKey: .version)
      try registers.encode(intelVTd.capability.hex64, forKey: .cap)
      try registers.encode(intelVTd.extendedCapability.hex64, forKey: .ecap)
    } else {
      try container.encodeNil(forKey: .intelVTd)
    }
    if let amdVi {
      var registers = container.nestedContainer(keyedBy: AMDKey.self, forKey: .amdVi)
      try registers.encode(amdVi.capability.map { "0x" + $0.hex(width: 8) }, forKey: .cap)
      try registers.encode(amdVi.features, forKey: .features)
    } else {
      try container.encodeNil(forKey: .amdVi)
    }
  }
}

extension UnsafeInterruptsPolicy: Encodable {
  enum Key: String, CodingKey {
    case vfioIOMMUType1 = "vfio_iommu_type1"
    case iommufd
  }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(vfioType1, forKey: .vfioIOMMUType1)
    try container.encode(iommufd, forKey: .iommufd)
  }
}

extension Diagnosis: Encodable {
  enum Key: String, CodingKey { case severity, code, message, hint }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(severity.rawValue, forKey: .severity)
    try container.encode(code, forKey: .code)
    try container.encode(message, forKey: .message)
    try container.encode(hint, forKey: .hint)
  }
}
