// hiodctl — reading the JSON contract back: what `snapshot` wrote becomes the same domain
// values a live scan produces, so every command can answer from a snapshot.
// SPDX-License-Identifier: GPL-2.0-or-later
//
// Each decoder mirrors its encoder in ListDocument.swift / CapsDocument.swift. Keys a
// newer hiodctl added are optional here (decodeIfPresent), so older snapshots load;
// derived keys (viable, blockers, aw_bits) are recomputed rather than trusted.

import SystemPackage

extension KeyedDecodingContainer {
  /// `"0x…"` (up to 16 hex digits) as written by `hex64`.
  func decodeHex64(forKey key: Key) throws -> UInt64 {
    let text = try decode(String.self, forKey: key)
    guard let value = UInt64(hexPrefixed: Substring(text)) else {
      throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "not 0x-hex: \(text)")
    }
    return value
  }

  /// Bare hex without `0x` (PCI IDs), as `lspci -n` prints them.
  func decodeBareHex<T: FixedWidthInteger & UnsignedInteger>(_: T.Type, forKey key: Key) throws -> T {
    let text = try decode(String.self, forKey: key)
    guard let value = T(hex: text) else {
      throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "not hex: \(text)")
    }
    return value
  }

  func decodeBareHexIfPresent<T: FixedWidthInteger & UnsignedInteger>(_: T.Type, forKey key: Key) throws -> T? {
    guard let text = try decodeIfPresent(String.self, forKey: key) else { return nil }
    guard let value = T(hex: text) else {
      throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "not hex: \(text)")
    }
    return value
  }

  func decodeRaw<T: RawRepresentable>(_: T.Type, forKey key: Key) throws -> T where T.RawValue == String {
    let text = try decode(String.self, forKey: key)
    guard let value = T(rawValue: text) else {
      throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "unknown value: \(text)")
    }
    return value
  }

  func decodeErrnoIfPresent(forKey key: Key) throws -> Errno? {
    guard let symbol = try decodeIfPresent(String.self, forKey: key) else { return nil }
    guard let errno = Errno(symbol: symbol) else {
      throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "unknown errno: \(symbol)")
    }
    return errno
  }
}

// MARK: - list

extension DeviceNode: Decodable {
  package init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: Key.self)
    self.init(
      path: try container.decode(String.self, forKey: .path), present: try container.decode(Bool.self, forKey: .present)
    )
  }
}

extension VFIOCdev: Decodable {
  package init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: Key.self)
    self.init(
      name: try container.decode(String.self, forKey: .name),
      node: DeviceNode(
        path: try container.decode(String.self, forKey: .path),
        present: try container.decode(Bool.self, forKey: .present)),
      deviceNumber: try container.decodeIfPresent(String.self, forKey: .dev))
  }
}

extension GroupMember: Decodable {
  package init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: Key.self)
    self.init(
      name: try container.decode(String.self, forKey: .device),
      driver: try container.decodeIfPresent(String.self, forKey: .driver))
  }
}

extension ReservedRegion: Decodable {
  package init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: Key.self)
    self.init(
      start: try container.decodeHex64(forKey: .start), end: try container.decodeHex64(forKey: .end),
      type: Kind(rawValue: try container.decode(String.self, forKey: .type)))
  }
}

extension IOMMUGroup: Decodable {
  package init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: Key.self)
    let members: [GroupMember]
    if let decoded = try container.decodeIfPresent([GroupMember].self, forKey: .members) {
      members = decoded
    } else {
      // Before `members`: names only; the drivers that matter (blockers) are listed apart.
      let names = try container.decode([String].self, forKey: .devices)
      let blockers = try container.decodeIfPresent([GroupMember].self, forKey: .blockers) ?? []
      members = names.map { name in GroupMember(name: name, driver: blockers.first { $0.name == name }?.driver) }
    }
    self.init(
      id: try container.decode(Int.self, forKey: .id),
      type: try container.decodeIfPresent(String.self, forKey: .type),
      name: try container.decodeIfPresent(String.self, forKey: .name),
      isNoIOMMU: try container.decodeIfPresent(Bool.self, forKey: .noiommu) ?? false,
      members: members,
      reservedRegions: try container.decodeIfPresent([ReservedRegion].self, forKey: .reservedRegions) ?? [],
      vfioNode: try container.decodeIfPresent(DeviceNode.self, forKey: .vfioNode))
  }
}

extension IOMMUUnit: Decodable {
  package init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: Key.self)
    var unit = IOMMUUnit(
      name: try container.decode(String.self, forKey: .name),
      vendor: IOMMUVendor(rawValue: try container.decode(String.self, forKey: .vendor)) ?? .unknown)
    if container.contains(.intelVTd), try !container.decodeNil(forKey: .intelVTd) {
      let registers = try container.nestedContainer(keyedBy: IntelKey.self, forKey: .intelVTd)
      unit.intelVTd = IntelVTdRegisters(
        version: try registers.decodeIfPresent(String.self, forKey: .version),
        capability: try registers.decodeHex64(forKey: .cap),
        extendedCapability: try registers.decodeHex64(forKey: .ecap))
    }
    if container.contains(.amdVi), try !container.decodeNil(forKey: .amdVi) {
      let registers = try container.nestedContainer(keyedBy: AMDKey.self, forKey: .amdVi)
      let cap = try registers.decodeIfPresent(String.self, forKey: .cap)
      unit.amdVi = AMDViRegisters(
        capability: cap.flatMap { UInt32(hex: $0.drop0x) },
        features: try registers.decodeIfPresent(String.self, forKey: .features))
    }
    self = unit
  }
}

extension UnsafeInterruptsPolicy: Decodable {
  package init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: Key.self)
    self.init(
      vfioType1: try container.decodeIfPresent(Bool.self, forKey: .vfioIOMMUType1),
      iommufd: try container.decodeIfPresent(Bool.self, forKey: .iommufd))
  }
}

extension PortACS: Decodable {
  package init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: Key.self)
    func address(_ text: String) throws -> PCIAddress {
      guard let address = PCIAddress(text) else {
        throw DecodingError.dataCorruptedError(forKey: .port, in: container, debugDescription: "not a BDF: \(text)")
      }
      return address
    }
    self.init(
      port: try address(try container.decode(String.self, forKey: .port)),
      type: PortType(rawValue: try container.decode(String.self, forKey: .type)) ?? .unknown,
      state: State(rawValue: try container.decode(String.self, forKey: .acs)) ?? .unknown,
      enabled: try container.decodeIfPresent([String].self, forKey: .enabled) ?? [],
      missing: try container.decodeIfPresent([String].self, forKey: .missing) ?? [],
      devices: try (container.decodeIfPresent([String].self, forKey: .devices) ?? []).map(address))
  }
}

extension DeviceUse: Decodable {
  package init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: Key.self)
    let text = try container.decode(String.self, forKey: .bdf)
    guard let address = PCIAddress(text) else {
      throw DecodingError.dataCorruptedError(forKey: .bdf, in: container, debugDescription: "not a BDF: \(text)")
    }
    self.init(device: address, use: try container.decode(String.self, forKey: .use))
  }
}

extension Diagnosis: Decodable {
  package init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: Key.self)
    self.init(
      severity: try container.decodeRaw(Severity.self, forKey: .severity),
      code: try container.decode(String.self, forKey: .code),
      message: try container.decode(String.self, forKey: .message),
      hint: try container.decodeIfPresent(String.self, forKey: .hint))
  }
}

extension HostEntry: Decodable {
  init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: Key.self)
    sysroot = try container.decode(String.self, forKey: .sysroot)
    facts = HostFacts(
      iommuUnits: try container.decode([IOMMUUnit].self, forKey: .iommuUnits),
      iommuGroupCount: try container.decode(Int.self, forKey: .iommuGroupCount),
      vfioContainer: try container.decode(DeviceNode.self, forKey: .vfioContainer),
      iommufd: try container.decode(DeviceNode.self, forKey: .iommufd),
      interruptRemapping: try container.decodeRaw(InterruptRemapping.self, forKey: .interruptRemapping),
      unsafeInterrupts: try container.decodeIfPresent(UnsafeInterruptsPolicy.self, forKey: .unsafeInterrupts)
        ?? UnsafeInterruptsPolicy(),
      cpuVendor: try container.decodeIfPresent(String.self, forKey: .cpuVendor).flatMap(CPUVendor.init(rawValue:)),
      iommuGroupsError: try container.decodeIfPresent(String.self, forKey: .iommuGroupsError),
      kernelCommandLine: try container.decodeIfPresent(String.self, forKey: .kernelCommandLine),
      modules: try container.decodeIfPresent([String: Bool].self, forKey: .modules),
      noIOMMUMode: try container.decodeIfPresent(Bool.self, forKey: .noIOMMUMode),
      hypervisor: try container.decodeIfPresent(String.self, forKey: .hypervisor),
      upstreamPorts: try container.decodeIfPresent([PortACS].self, forKey: .upstreamPorts) ?? [],
      devicesInUse: try container.decodeIfPresent([DeviceUse].self, forKey: .devicesInUse),
      // Snapshots before hiodctl recorded the environment lack the key itself.
      environmentRecorded: container.contains(.modules))
    diagnoses = try container.decode([Diagnosis].self, forKey: .diagnoses)
  }
}

/// A device entry of `list --json`, read back as the device it describes.
struct DecodedDevice: Decodable {
  let device: PCIDevice

  init(from decoder: any Decoder) throws {
    typealias Key = DeviceEntry.Key
    let container = try decoder.container(keyedBy: Key.self)
    let bdf = try container.decode(String.self, forKey: .bdf)
    guard let address = PCIAddress(bdf) else {
      throw DecodingError.dataCorruptedError(forKey: .bdf, in: container, debugDescription: "not a BDF: \(bdf)")
    }
    let identity = PCIIdentity(
      vendorID: try container.decodeBareHex(UInt16.self, forKey: .vendorID),
      deviceID: try container.decodeBareHex(UInt16.self, forKey: .deviceID),
      classCode: try container.decodeBareHex(UInt16.self, forKey: .classCode),
      progIf: try container.decodeBareHexIfPresent(UInt8.self, forKey: .progIf) ?? 0,
      revision: try container.decodeBareHexIfPresent(UInt8.self, forKey: .revision) ?? 0,
      subsystemVendorID: try container.decodeBareHexIfPresent(UInt16.self, forKey: .subsystemVendorID),
      subsystemDeviceID: try container.decodeBareHexIfPresent(UInt16.self, forKey: .subsystemDeviceID))
    let names = PCINames(
      vendor: try container.decodeIfPresent(String.self, forKey: .vendorName),
      device: try container.decodeIfPresent(String.self, forKey: .deviceName),
      deviceClass: try container.decodeIfPresent(String.self, forKey: .className),
      subsystemVendor: try container.decodeIfPresent(String.self, forKey: .subsystemVendorName),
      subsystemDevice: try container.decodeIfPresent(String.self, forKey: .subsystemDeviceName))
    device = PCIDevice(
      address: address, identity: identity, names: names,
      iommuGroup: try container.decodeIfPresent(Int.self, forKey: .iommuGroup),
      iommuUnit: try container.decodeIfPresent(String.self, forKey: .iommuUnit),
      driver: try container.decodeIfPresent(String.self, forKey: .driver),
      vfioCdev: try container.decodeIfPresent(VFIOCdev.self, forKey: .vfioCdev))
  }
}

/// `list --json` read back as the host it describes.
struct DecodedInventory: Decodable {
  let inventory: HostInventory

  init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: ListDocument.Key.self)
    let host = try container.decode(HostEntry.self, forKey: .host)
    inventory = HostInventory(
      sysroot: host.sysroot, facts: host.facts,
      devices: try container.decode([DecodedDevice].self, forKey: .devices).map(\.device),
      groups: try container.decode([IOMMUGroup].self, forKey: .groups),
      diagnoses: host.diagnoses,
      warnings: try container.decodeIfPresent([String].self, forKey: .warnings) ?? [])
  }
}

// MARK: - caps

extension Provenance: Decodable {
  package init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: Key.self)
    self.init(
      try container.decodeRaw(HostIOMMUBackend.self, forKey: .backend),
      try container.decode(String.self, forKey: .origin))
  }
}

extension RealizeFailure: Decodable {
  package init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: Key.self)
    // The backend is the attempt's, filled in by the attempt decoder.
    self.init(
      backend: .sysfs, step: try container.decode(String.self, forKey: .step),
      errno: try container.decodeErrnoIfPresent(forKey: .errno),
      problem: try container.decodeRaw(DeviceProblem.self, forKey: .problem),
      message: try container.decode(String.self, forKey: .message),
      hints: try container.decodeIfPresent([String].self, forKey: .hints) ?? [])
  }
}

extension RealizeAttempt: Decodable {
  package init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: Key.self)
    let backend = try container.decodeRaw(HostIOMMUBackend.self, forKey: .backend)
    var failure = try container.decodeIfPresent(RealizeFailure.self, forKey: .failure)
    failure?.backend = backend
    self.init(
      backend: backend, reason: try container.decode(String.self, forKey: .reason), failure: failure,
      reset: try container.decodeIfPresent(DeviceReset.self, forKey: .reset))
  }
}

extension NestingParentProbe: Decodable {
  package init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: Key.self)
    self.init(
      allowed: try container.decode(Bool.self, forKey: .allowed),
      refusal: try container.decodeErrnoIfPresent(forKey: .errno),
      provenance: try container.decode(Provenance.self, forKey: .source))
  }
}

extension LegacyContainerInfo: Decodable {
  package init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: Key.self)
    let model = try container.decode(String.self, forKey: .iommuModel)
    self.init(
      iommuModel: model == "TYPE1v2" ? 3 : model == "TYPE1" ? 1 : Int32(model) ?? 0,
      dmaMappingsAvailable: try container.decodeIfPresent(UInt32.self, forKey: .dmaMappingsAvailable),
      migrationCapable: try container.decodeIfPresent(Bool.self, forKey: .migration) ?? false,
      unmapAll: try container.decodeIfPresent(Bool.self, forKey: .unmapAll) ?? false)
  }
}

extension IOMMUFDObjects: Decodable {
  package init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: Key.self)
    self.init(
      deviceID: try container.decode(UInt32.self, forKey: .devID),
      ioasID: try container.decode(UInt32.self, forKey: .ioasID),
      hwptID: try container.decode(UInt32.self, forKey: .hwptID),
      hwptFlags: try container.decode(UInt32.self, forKey: .hwptFlags))
  }
}

extension IOVARange: Decodable {
  package init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: Key.self)
    self.init(start: try container.decodeHex64(forKey: .start), last: try container.decodeHex64(forKey: .last))
  }
}

/// `{"value": …, "source": …}` read back, by the keys SourcedEntry writes.
struct SourcedValue<Value: Decodable>: Decodable {
  let value: Value
  let provenance: Provenance

  init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: SourcedKey.self)
    value = try container.decode(Value.self, forKey: .value)
    provenance = try container.decode(Provenance.self, forKey: .source)
  }
}

extension VendorCaps {
  /// One of VendorEntry's objects, told apart by `type`.
  init(decodingEntry decoder: any Decoder) throws {
    let type = try decoder.container(keyedBy: VendorEntry.Other.Key.self).decode(String.self, forKey: .type)
    switch type {
    case VendorEntry.IntelVTd.type:
      let container = try decoder.container(keyedBy: VendorEntry.IntelVTd.Key.self)
      self = .intelVTd(
        flags: try container.decodeIfPresent(UInt32.self, forKey: .flags) ?? 0,
        capability: try container.decodeHex64(forKey: .cap),
        extendedCapability: try container.decodeHex64(forKey: .ecap))
    case VendorEntry.ARMSMMUv3.type:
      let container = try decoder.container(keyedBy: VendorEntry.ARMSMMUv3.Key.self)
      let idr = try container.decode([String].self, forKey: .idr).map { UInt32(hex: $0.drop0x) ?? 0 }
      guard idr.count == 6 else {
        throw DecodingError.dataCorruptedError(forKey: .idr, in: container, debugDescription: "want 6 IDRs")
      }
      self = .armSMMUv3(
        flags: try container.decodeIfPresent(UInt32.self, forKey: .flags) ?? 0, idr: idr,
        iidr: UInt32(hex: try container.decode(String.self, forKey: .iidr).drop0x) ?? 0,
        aidr: UInt32(hex: try container.decode(String.self, forKey: .aidr).drop0x) ?? 0)
    case VendorEntry.AMD.type:
      let container = try decoder.container(keyedBy: VendorEntry.AMD.Key.self)
      self = .amd(efr: try container.decodeHex64(forKey: .efr), efr2: try container.decodeHex64(forKey: .efr2))
    case let other:
      let container = try decoder.container(keyedBy: VendorEntry.Other.Key.self)
      let text = try container.decodeIfPresent(String.self, forKey: .bytes) ?? ""
      var bytes: [UInt8] = []
      var index = text.startIndex
      while let next = text.index(index, offsetBy: 2, limitedBy: text.endIndex), index < text.endIndex {
        bytes.append(UInt8(hex: text[index..<next]) ?? 0)
        index = next
      }
      let type = [IOMMUHardwareType.none, .tegra241CMDQV].first { $0.name.lowercased() == other } ?? .none
      self = .other(type: type, bytes: bytes)
    }
  }
}

struct DecodedVendor: Decodable {
  let vendor: Sourced<VendorCaps>

  init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: VendorEntry.Other.Key.self)
    vendor = Sourced(try VendorCaps(decodingEntry: decoder), try container.decode(Provenance.self, forKey: .source))
  }
}

extension HostIOMMUDevice: Decodable {
  package init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: Key.self)
    let type = try container.decode(String.self, forKey: .type)
    guard let backend = HostIOMMUBackend.allCases.first(where: { $0.qemuType == type }) else {
      throw DecodingError.dataCorruptedError(forKey: .type, in: container, debugDescription: "unknown type: \(type)")
    }
    self.init(
      name: try container.decode(String.self, forKey: .name), backend: backend,
      iovaRanges: try container.decodeIfPresent(SourcedValue<[IOVARange]>.self, forKey: .iovaRanges)
        .map { Sourced($0.value, $0.provenance) },
      pageSizeMask: try container.decodeIfPresent(SourcedValue<String>.self, forKey: .pageSizeMask)
        .flatMap { entry in UInt64(hexPrefixed: Substring(entry.value)).map { Sourced($0, entry.provenance) } },
      nestingParent: try container.decodeIfPresent(NestingParentProbe.self, forKey: .nestingParent),
      legacy: try container.decodeIfPresent(LegacyContainerInfo.self, forKey: .legacy),
      iommufd: try container.decodeIfPresent(IOMMUFDObjects.self, forKey: .iommufd),
      notes: try container.decodeIfPresent([String].self, forKey: .notes) ?? [])
    caps.type = try container.decodeIfPresent(SourcedValue<UInt32>.self, forKey: .iommuType)
      .map { Sourced(IOMMUHardwareType(rawValue: $0.value), $0.provenance) }
    caps.hwCaps = try container.decodeIfPresent(SourcedValue<String>.self, forKey: .hwCaps)
      .flatMap { entry in UInt64(hexPrefixed: Substring(entry.value)).map { Sourced($0, entry.provenance) } }
    caps.maxPASIDLog2 = try container.decodeIfPresent(SourcedValue<UInt8>.self, forKey: .maxPASIDLog2)
      .map { Sourced($0.value, $0.provenance) }
    caps.vendor = try container.decodeIfPresent(DecodedVendor.self, forKey: .vendor)?.vendor
  }
}
