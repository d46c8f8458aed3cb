// hiodctl — a vIOMMU configuration: the model, the QEMU release and machine, the options
// the user set, and the values QEMU would really use once its defaults are applied.
// SPDX-License-Identifier: GPL-2.0-or-later
//
// Defaults and the releases that introduced each property are abi-digest §2.1–§2.4.

/// The vIOMMU models QEMU can put in front of an assigned device.
public enum VIOMMUModel: String, Sendable, CaseIterable, Hashable {
  /// intel-iommu (q35).
  case intel
  /// virtio-iommu-pci (any machine).
  case virtio
  /// arm-smmuv3 (virt).
  case smmuv3
  /// amd-iommu (x86).
  case amd

  /// QEMU's device type name.
  public var qemuDevice: String {
    switch self {
    case .intel: "intel-iommu"
    case .virtio: "virtio-iommu-pci"
    case .smmuv3: "arm-smmuv3"
    case .amd: "amd-iommu"
    }
  }

  /// libvirt's `<iommu model=…>` value.
  public var libvirtModel: String {
    switch self {
    case .intel: "intel"
    case .virtio: "virtio"
    case .smmuv3: "smmuv3"
    case .amd: "amd"
    }
  }
}

/// virtio-iommu's `granule` property: the smallest page size the vIOMMU offers the guest.
public enum Granule: String, Sendable, CaseIterable, Hashable {
  /// 4 KiB and up.
  case k4 = "4k"
  /// 8 KiB and up.
  case k8 = "8k"
  /// 16 KiB and up.
  case k16 = "16k"
  /// 64 KiB and up.
  case k64 = "64k"
  /// The host's page size and up (QEMU's default).
  case host

  /// The page size in bytes; nil for `host` (the host's page size).
  public var bytes: UInt64? {
    switch self {
    case .k4: 4 << 10
    case .k8: 8 << 10
    case .k16: 16 << 10
    case .k64: 64 << 10
    case .host: nil
    }
  }
}

/// The CPU architecture the VM emulates, which decides the default machine of
/// virtio-iommu (q35 on x86, virt on Arm) and so its default aw-bits.
public enum GuestArchitecture: String, Sendable, Hashable, CaseIterable {
  /// An x86 guest (q35, i440fx).
  case x86
  /// An Arm guest (virt).
  case arm

  /// The architecture hiodctl itself was built for: the usual host of the VM.
  public static var native: GuestArchitecture {
    #if arch(arm64) || arch(arm)
      .arm
    #else
      .x86
    #endif
  }
}

/// What the user set explicitly; nil means "QEMU's default for the release and machine".
/// The names follow QEMU's property names (`x-scalable-mode` is `scalableMode`).
public struct VIOMMUOptions: Hashable, Sendable {
  /// intel-iommu / virtio-iommu `aw-bits`.
  public var awBits: Int?
  /// intel-iommu `caching-mode`.
  public var cachingMode: Bool?
  /// intel-iommu `x-scalable-mode`.
  public var scalableMode: Bool?
  /// intel-iommu `x-flts` (first-stage translation), QEMU ≥ 10.0.
  public var xFlts: Bool?
  /// intel-iommu `fs1gp` (first-stage 1 GiB pages), QEMU ≥ 10.0.
  public var fs1gp: Bool?
  /// virtio-iommu `granule`.
  public var granule: Granule?
  /// arm-smmuv3 `accel`, QEMU ≥ 11.0.
  public var accel: Bool?
  /// arm-smmuv3 `oas` (output address size in bits), QEMU ≥ 11.0.
  public var oas: Int?
  /// arm-smmuv3 `ssidsize` (SubstreamID bits), QEMU ≥ 11.0.
  public var ssidsize: Int?
  /// arm-smmuv3 `ril` (range invalidation), QEMU ≥ 11.0.
  public var ril: Bool?
  /// arm-smmuv3 `ats`, QEMU ≥ 11.0.
  public var ats: Bool?
  /// amd-iommu `dma-remap`, QEMU ≥ 10.2.
  public var dmaRemap: Bool?

  /// Options with only the given ones set; `VIOMMUOptions()` sets none.
  public init(
    awBits: Int? = nil, cachingMode: Bool? = nil, scalableMode: Bool? = nil, xFlts: Bool? = nil,
    fs1gp: Bool? = nil, granule: Granule? = nil, accel: Bool? = nil, oas: Int? = nil,
    ssidsize: Int? = nil, ril: Bool? = nil, ats: Bool? = nil, dmaRemap: Bool? = nil
  ) {
    self.awBits = awBits
    self.cachingMode = cachingMode
    self.scalableMode = scalableMode
    self.xFlts = xFlts
    self.fs1gp = fs1gp
    self.granule = granule
    self.accel = accel
    self.oas = oas
    self.ssidsize = ssidsize
    self.ril = ril
    self.ats = ats
    self.dmaRemap = dmaRemap
  }
}

/// A value QEMU will use, whether the user chose it, and why it is what it is.
public struct Effective<Value: Hashable & Sendable>: Hashable, Sendable {
  /// The value QEMU uses.
  public var value: Value
  /// True when QEMU's default applies (the user did not set it).
  public var isDefault: Bool
  /// "set explicitly", "QEMU 10.0 and later default to 48 for machine types 9.2 and later".
  public var reason: String

  /// A value, whether it is QEMU's default, and why.
  public init(value: Value, isDefault: Bool, reason: String) {
    self.value = value
    self.isDefault = isDefault
    self.reason = reason
  }

  /// A value the user set.
  static func explicit(_ value: Value) -> Effective {
    Effective(value: value, isDefault: false, reason: "set explicitly")
  }

  /// QEMU's default, with the reason.
  static func byDefault(_ value: Value, _ reason: String) -> Effective {
    Effective(value: value, isDefault: true, reason: reason)
  }
}

/// One property as QEMU spells it on the command line (`aw-bits`, `39`).
public struct QEMUProperty: Hashable, Sendable, CustomStringConvertible {
  /// QEMU's property name (`aw-bits`).
  public var name: String
  /// The value as QEMU spells it (`39`, `on`).
  public var value: String

  /// A property `name=value`.
  public init(name: String, value: String) {
    self.name = name
    self.value = value
  }

  /// `aw-bits=39`.
  public var description: String { "\(name)=\(value)" }
}

/// One effective property: QEMU's name, the value QEMU will use, and why.
public struct EffectiveProperty: Hashable, Sendable {
  /// QEMU's property name (`aw-bits`).
  public var name: String
  /// The value as QEMU spells it (`48`, `on`, `4k`).
  public var value: String
  /// True when QEMU's default applies.
  public var isDefault: Bool
  /// Why the value is what it is.
  public var reason: String

  /// One effective property.
  public init(name: String, value: String, isDefault: Bool, reason: String) {
    self.name = name
    self.value = value
    self.isDefault = isDefault
    self.reason = reason
  }
}

/// A vIOMMU as the user would configure it for one VM.
public struct VIOMMUConfiguration: Hashable, Sendable {
  /// Which vIOMMU.
  public var model: VIOMMUModel
  /// The QEMU release that will run it (`--qemu`).
  public var qemu: QEMUVersion
  /// nil: the default machine of the model (q35 for intel/amd, virt for smmuv3, and for
  /// virtio the one of `architecture`).
  public var machine: MachineType?
  /// What the user set explicitly.
  public var options: VIOMMUOptions
  /// The guest architecture, used only to pick virtio-iommu's default machine when
  /// `machine` is nil. The checker fills it from the host's IOMMU units when they tell.
  public var architecture: GuestArchitecture

  /// A configuration; by default the newest known QEMU, the model's usual machine and
  /// QEMU's defaults for every option.
  public init(
    model: VIOMMUModel, qemu: QEMUVersion = .newest, machine: MachineType? = nil,
    options: VIOMMUOptions = VIOMMUOptions(), architecture: GuestArchitecture = .native
  ) {
    self.model = model
    self.qemu = qemu
    self.machine = machine
    self.options = options
    self.architecture = architecture
  }

  // MARK: Effective values

  /// The machine QEMU runs: the one given, or the model's usual one.
  public var effectiveMachine: Effective<MachineType> {
    if let machine { return .explicit(machine) }
    switch model {
    case .intel, .amd:
      // QEMU's own default x86 machine is `pc` (i440fx), but intel-iommu needs q35 and
      // nobody runs amd-iommu without it: assume what the user will have to use.
      return .byDefault(MachineType(family: MachineType.q35, version: nil), "\(model.qemuDevice) is used with q35")
    case .smmuv3:
      return .byDefault(
        MachineType(family: MachineType.virt, version: nil), "arm-smmuv3 exists only on the Arm virt machine")
    case .virtio:
      return architecture == .arm
        ? .byDefault(MachineType(family: MachineType.virt, version: nil), "an Arm guest: virt")
        : .byDefault(
          MachineType(family: MachineType.q35, version: nil), "an x86 guest: q35 assumed (pass --machine for i440fx)")
    }
  }

  /// `aw-bits` (intel-iommu, virtio-iommu); nil for models without the property.
  public var awBits: Effective<Int>? {
    switch model {
    case .intel:
      if let value = options.awBits { return .explicit(value) }
      let machine = effectiveMachine.value
      // 36bda55d, mst PULL Jan 2025 ⇒ QEMU 10.0 (the patch title says "starting from QEMU
      // 9.2": it means machine type 9.2 — pc_compat_9_1 keeps 39 for ≤ 9.1 machines).
      if qemu < .v10_0 {
        return .byDefault(39, "intel-iommu defaults to 39 before QEMU 10.0")
      }
      if let version = machine.version, version <= .v9_1 {
        return .byDefault(39, "machine type \(machine) keeps 39 (pc_compat_9_1)")
      }
      return .byDefault(48, "QEMU 10.0 and later default to 48 for machine types 9.2 and later")
    case .virtio:
      if let value = options.awBits { return .explicit(value) }
      // The device default is 64; since 9.0 the machines override it (virt 48; q35 39 per
      // the patch series — the digest marks the q35 value UNVERIFIED in the final code).
      switch effectiveMachine.value.family {
      case MachineType.q35: return .byDefault(39, "q35 sets virtio-iommu aw-bits to 39 (since QEMU 9.0)")
      case MachineType.virt: return .byDefault(48, "virt sets virtio-iommu aw-bits to 48 (since QEMU 9.0)")
      default: return .byDefault(64, "virtio-iommu's own default (this machine does not override it)")
      }
    case .smmuv3, .amd:
      return nil
    }
  }

  /// intel-iommu `caching-mode` (default off).
  public var cachingMode: Effective<Bool>? {
    guard model == .intel else { return nil }
    return options.cachingMode.map { .explicit($0) } ?? .byDefault(false, "intel-iommu defaults to caching-mode=off")
  }

  /// intel-iommu `x-scalable-mode` (default off).
  public var scalableMode: Effective<Bool>? {
    guard model == .intel else { return nil }
    return options.scalableMode.map { .explicit($0) }
      ?? .byDefault(false, "intel-iommu defaults to x-scalable-mode=off")
  }

  /// intel-iommu `x-flts` (default off; the property exists from QEMU 10.0).
  public var xFlts: Effective<Bool>? {
    guard model == .intel else { return nil }
    if let value = options.xFlts { return .explicit(value) }
    return qemu < .v10_0
      ? .byDefault(false, "QEMU \(qemu) has no x-flts property (added in 10.0)")
      : .byDefault(false, "intel-iommu defaults to x-flts=off")
  }

  /// intel-iommu `fs1gp` (default on; the property exists from QEMU 10.0 and matters only
  /// with x-flts=on).
  public var fs1gp: Effective<Bool>? {
    guard model == .intel else { return nil }
    if let value = options.fs1gp { return .explicit(value) }
    return qemu < .v10_0
      ? .byDefault(false, "QEMU \(qemu) has no fs1gp property (added in 10.0)")
      : .byDefault(true, "intel-iommu defaults to fs1gp=on")
  }

  /// virtio-iommu `granule` (default `host`; the default's release is UNVERIFIED in the
  /// digest, "9.0 era").
  public var granule: Effective<Granule>? {
    guard model == .virtio else { return nil }
    return options.granule.map { .explicit($0) } ?? .byDefault(.host, "virtio-iommu defaults to granule=host")
  }

  /// arm-smmuv3 `accel` (default off; the property exists from QEMU 11.0).
  public var accel: Effective<Bool>? {
    guard model == .smmuv3 else { return nil }
    if let value = options.accel { return .explicit(value) }
    return qemu < .v11_0
      ? .byDefault(false, "QEMU \(qemu) has no accel property (added in 11.0): the SMMUv3 is emulated")
      : .byDefault(false, "arm-smmuv3 defaults to accel=off (emulated)")
  }

  /// arm-smmuv3 `oas` in bits (default 44).
  public var oas: Effective<Int>? {
    guard model == .smmuv3 else { return nil }
    return options.oas.map { .explicit($0) } ?? .byDefault(44, "arm-smmuv3 defaults to oas=44")
  }

  /// arm-smmuv3 `ssidsize` (default 0: no SubstreamIDs, no PASID).
  public var ssidsize: Effective<Int>? {
    guard model == .smmuv3 else { return nil }
    return options.ssidsize.map { .explicit($0) } ?? .byDefault(0, "arm-smmuv3 defaults to ssidsize=0")
  }

  /// arm-smmuv3 `ril` (default on).
  public var ril: Effective<Bool>? {
    guard model == .smmuv3 else { return nil }
    return options.ril.map { .explicit($0) } ?? .byDefault(true, "arm-smmuv3 defaults to ril=on")
  }

  /// arm-smmuv3 `ats` (default off).
  public var ats: Effective<Bool>? {
    guard model == .smmuv3 else { return nil }
    return options.ats.map { .explicit($0) } ?? .byDefault(false, "arm-smmuv3 defaults to ats=off")
  }

  /// amd-iommu `dma-remap` (default off; the property exists from QEMU 10.2).
  public var dmaRemap: Effective<Bool>? {
    guard model == .amd else { return nil }
    if let value = options.dmaRemap { return .explicit(value) }
    return qemu < .v10_2
      ? .byDefault(false, "QEMU \(qemu) has no dma-remap property (added in 10.2)")
      : .byDefault(false, "amd-iommu defaults to dma-remap=off")
  }

  /// Every effective value of the model, by QEMU property name, in command-line order:
  /// what a report shows as "the configuration QEMU will run".
  public var effectiveProperties: [EffectiveProperty] {
    func entry<T>(_ name: String, _ value: Effective<T>?, _ text: (T) -> String) -> EffectiveProperty? {
      value.map { EffectiveProperty(name: name, value: text($0.value), isDefault: $0.isDefault, reason: $0.reason) }
    }
    let onOff: (Bool) -> String = { $0 ? "on" : "off" }
    return [
      entry("caching-mode", cachingMode, onOff),
      entry("aw-bits", awBits, String.init),
      entry("x-scalable-mode", scalableMode, onOff),
      entry("x-flts", xFlts, onOff),
      entry("fs1gp", fs1gp, onOff),
      entry("granule", granule, \.rawValue),
      entry("accel", accel, onOff),
      entry("oas", oas, String.init),
      entry("ssidsize", ssidsize, String.init),
      entry("ril", ril, onOff),
      entry("ats", ats, onOff),
      entry("dma-remap", dmaRemap, onOff),
    ].compactMap { $0 }
  }

  // MARK: Properties the user set

  /// The options set explicitly, as QEMU properties, in command-line order.
  public var explicitProperties: [QEMUProperty] {
    let onOff: (Bool) -> String = { $0 ? "on" : "off" }
    let candidates: [(String, String?)] = [
      ("caching-mode", options.cachingMode.map(onOff)),
      ("aw-bits", options.awBits.map(String.init)),
      ("x-scalable-mode", options.scalableMode.map(onOff)),
      ("x-flts", options.xFlts.map(onOff)),
      ("fs1gp", options.fs1gp.map(onOff)),
      ("granule", options.granule.map(\.rawValue)),
      ("accel", options.accel.map(onOff)),
      ("oas", options.oas.map(String.init)),
      ("ssidsize", options.ssidsize.map(String.init)),
      ("ril", options.ril.map(onOff)),
      ("ats", options.ats.map(onOff)),
      ("dma-remap", options.dmaRemap.map(onOff)),
    ]
    return candidates.compactMap { name, value in value.map { QEMUProperty(name: name, value: $0) } }
  }

  /// The first release in which `property` exists on this model's device; nil when the
  /// device never has it (a property of another model).
  static func introduction(of property: String, on model: VIOMMUModel) -> QEMUVersion? {
    switch (model, property) {
    // intel-iommu: aw-bits, caching-mode and x-scalable-mode long predate 9.0.
    case (.intel, "aw-bits"), (.intel, "caching-mode"), (.intel, "x-scalable-mode"): .oldest
    case (.intel, "x-flts"), (.intel, "fs1gp"): .v10_0
    // virtio-iommu: aw-bits from 9.0; granule is older (its "host" default is 9.0 era).
    case (.virtio, "aw-bits"), (.virtio, "granule"): .oldest
    case (.smmuv3, "accel"), (.smmuv3, "oas"), (.smmuv3, "ssidsize"), (.smmuv3, "ril"), (.smmuv3, "ats"): .v11_0
    case (.amd, "dma-remap"): .v10_2
    default: nil
    }
  }

  /// This configuration with other options (the rest unchanged).
  func with(_ change: (inout VIOMMUOptions) -> Void) -> VIOMMUConfiguration {
    var copy = self
    change(&copy.options)
    return copy
  }
}
