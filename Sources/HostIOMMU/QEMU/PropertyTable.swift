// hiodctl — one table of the vIOMMU properties hiodctl knows: QEMU's name per release,
// the libvirt attribute, the value it takes, and QEMU's default by release and machine type.
// It drives the configuration, the command-line options, help, completions and the checks
// that a property exists in a release.
// SPDX-License-Identifier: GPL-2.0-or-later
//
// Property lists and defaults: `-device <model>,help` of Debian's 7.2.22, 10.0.13 and
// 11.1.3 binaries, qom-get on realized devices (machine compat), and the DEFINE_PROP lines
// and hw_compat/pc_compat arrays of the 7.2, 10.0.13 and 10.2.2 sources.

/// A vIOMMU property, by meaning (its QEMU name can change between releases).
package enum VIOMMUProperty: String, Sendable, CaseIterable, Hashable {
  case cachingMode, awBits, scalableMode, firstStage, fs1gp, pasidBits
  case granule
  case dmaRemap
  case accel, oas, ssidsize, ril, ats
}

/// The value a property takes.
package enum PropertyValue: Hashable, Sendable, CustomStringConvertible {
  case bool(Bool)
  case int(Int)
  case word(String)

  /// As QEMU spells it: `on`, `39`, `4k`.
  package var description: String {
    switch self {
    case .bool(let value): value ? "on" : "off"
    case .int(let value): String(value)
    case .word(let value): value
    }
  }

  var boolValue: Bool? { if case .bool(let value) = self { value } else { nil } }
  var intValue: Int? { if case .int(let value) = self { value } else { nil } }
  var wordValue: String? { if case .word(let value) = self { value } else { nil } }
}

/// What values a property accepts on hiodctl's command line.
package enum PropertyKind: Sendable, Hashable {
  /// `on|off`.
  case onOff
  /// A flag meaning `=on` (`--x-flts`, `--accel`): the property's only useful setting.
  case flag
  /// A number of bits in the range.
  case bits(ClosedRange<Int>)
  /// One of the words.
  case choice([String])
}

/// QEMU's name for a property in a span of releases.
package struct PropertySpelling: Sendable, Hashable {
  /// `x-scalable-mode`.
  package let name: String
  /// The releases that have the property under that name.
  package let span: ReleaseSpan
  /// The span's first release is inferred from QEMU's history.
  let inferred: Bool

  init(_ name: String, _ span: ReleaseSpan, inferred: Bool = false) {
    self.name = name
    self.span = span
    self.inferred = inferred
  }
}

/// A default and why QEMU has it.
struct PropertyDefault: Sendable {
  let value: PropertyValue
  let reason: String
}

/// One row of the table. A class, not a struct: the checks look a row up for every
/// effective value of every configuration they try, and a class's copy is one retain.
package final class VIOMMUPropertyRow: Sendable {
  package let property: VIOMMUProperty
  package let model: VIOMMUModel
  /// QEMU's names, oldest first; the property does not exist outside their spans.
  package let spellings: [PropertySpelling]
  package let kind: PropertyKind
  /// The `<iommu><driver …/>` attribute libvirt has for it, if any.
  package let libvirtAttribute: String?
  /// One line for `--help` and the man page.
  package let help: String
  /// QEMU's default in a release, on a machine (nil machine version: the newest).
  let defaultValue: @Sendable (QEMUVersion, MachineType) -> PropertyDefault?

  init(
    property: VIOMMUProperty, model: VIOMMUModel, spellings: [PropertySpelling], kind: PropertyKind,
    libvirtAttribute: String?, help: String,
    defaultValue: @escaping @Sendable (QEMUVersion, MachineType) -> PropertyDefault?
  ) {
    self.property = property
    self.model = model
    self.spellings = spellings
    self.kind = kind
    self.libvirtAttribute = libvirtAttribute
    self.help = help
    self.defaultValue = defaultValue
  }

  /// QEMU's name in `release`; nil when the release does not have the property.
  package func name(in release: QEMUVersion) -> String? {
    let effective = release.rulesRelease ?? release
    return spellings.first { $0.span.contains(effective) }?.name
  }

  /// Whether QEMU's name `name` exists in `release`.
  func has(_ name: String, in release: QEMUVersion) -> Bool {
    self.name(in: release) == name
  }

  /// The name to write for `release`: its own, else for a release before the property
  /// the first name it had (`x-flts` on 9.2), else the newest.
  package func name(nearest release: QEMUVersion) -> String {
    if let own = name(in: release) { return own }
    if let first = spellings.first, let from = first.span.from, release < from { return first.name }
    return currentName
  }

  /// The newest spelling: what hiodctl uses when the release does not matter.
  package var currentName: String { spellings.last!.name }

  /// The first release that has the property (under any name).
  package var introduced: QEMUVersion? { spellings.first?.span.from }
}

/// A property hiodctl has no rule for but knows exists only in some releases: writing it
/// on another one is QEMU's "Property ... not found" (11.1 dropped intel-iommu's pt,
/// dma-drain, x-pasid-mode and x-buggy-eim).
struct OtherProperty: Sendable {
  let model: VIOMMUModel
  let name: String
  let span: ReleaseSpan
}

/// The table.
package enum VIOMMUProperties {
  /// The vIOMMUs' other properties (`-device X,help` of 7.2.22, 10.0.13 and 11.1.3).
  static let others: [OtherProperty] = [
    OtherProperty(model: .intel, name: "version", span: .all),
    OtherProperty(model: .intel, name: "eim", span: .all),
    OtherProperty(model: .intel, name: "intremap", span: .all),
    OtherProperty(model: .intel, name: "device-iotlb", span: .all),
    OtherProperty(model: .intel, name: "snoop-control", span: .all),
    OtherProperty(model: .intel, name: "dma-translation", span: .all),
    OtherProperty(model: .intel, name: "x-buggy-eim", span: .through(.v11_0)),
    OtherProperty(model: .intel, name: "pt", span: .through(.v11_0)),
    OtherProperty(model: .intel, name: "dma-drain", span: .through(.v11_0)),
    OtherProperty(model: .intel, name: "x-pasid-mode", span: .through(.v11_0)),
    OtherProperty(model: .intel, name: "stale-tm", span: .since(.v10_0)),
    OtherProperty(model: .intel, name: "svm", span: .since(.v11_1)),
    OtherProperty(model: .amd, name: "intremap", span: .all),
    OtherProperty(model: .amd, name: "device-iotlb", span: .all),
    OtherProperty(model: .amd, name: "pt", span: .through(.v11_0)),
    OtherProperty(model: .amd, name: "xtsup", span: .since(.v10_0)),
    OtherProperty(model: .amd, name: "pci-id", span: .since(.v10_2)),
    OtherProperty(model: .amd, name: "dma-translation", span: .since(.v10_2)),
    OtherProperty(model: .virtio, name: "boot-bypass", span: .all),
    OtherProperty(model: .virtio, name: "primary-bus", span: .all),
    OtherProperty(model: .virtio, name: "reserved-regions", span: .all),
    OtherProperty(model: .virtio, name: "class", span: .all),
    OtherProperty(model: .virtio, name: "sriov-pf", span: .since(.v11_1)),
  ]

  package static let rows: [VIOMMUPropertyRow] = intel + virtio + amd + smmuv3

  /// Whether `name` is a property of `model` hiodctl knows without rules for it.
  package static func isKnownOther(_ name: String, model: VIOMMUModel) -> Bool {
    others.contains { $0.model == model && $0.name == name }
  }

  /// The row of `property` on `model`; nil when the model has no such property.
  package static func row(_ property: VIOMMUProperty, model: VIOMMUModel) -> VIOMMUPropertyRow? {
    rows.first { $0.property == property && $0.model == model }
  }

  /// The rows of a model, in command-line order.
  package static func rows(of model: VIOMMUModel) -> [VIOMMUPropertyRow] {
    rows.filter { $0.model == model }
  }

  /// The row whose QEMU name (in any release) is `name`, for `model` when given.
  package static func row(named name: String, model: VIOMMUModel? = nil) -> VIOMMUPropertyRow? {
    rows.first { row in (model == nil || row.model == model) && row.spellings.contains { $0.name == name } }
  }

  /// Every QEMU name any known release uses, for the command-line options.
  package static var allNames: [String] {
    var seen = Set<String>()
    return rows.flatMap { $0.spellings.map(\.name) }.filter { seen.insert($0).inserted }
  }

  private static func onOffDefault(_ value: Bool, _ reason: String) -> PropertyDefault {
    PropertyDefault(value: .bool(value), reason: reason)
  }

  static let intel: [VIOMMUPropertyRow] = [
    VIOMMUPropertyRow(
      property: .cachingMode, model: .intel, spellings: [PropertySpelling("caching-mode", .all)], kind: .onOff,
      libvirtAttribute: "caching_mode", help: "intel caching-mode (device assignment needs it on)",
      defaultValue: { _, _ in onOffDefault(false, "intel-iommu defaults to caching-mode=off") }),
    VIOMMUPropertyRow(
      property: .awBits, model: .intel, spellings: [PropertySpelling("aw-bits", .all)], kind: .bits(0...255),
      libvirtAttribute: "aw_bits", help: "aw-bits (intel: 39 or 48; virtio: 32-64)",
      defaultValue: { qemu, machine in
        // 48 from 10.0 (intel_iommu: "Set default aw_bits to 48", mst pull of Jan 2025);
        // pc_compat_9_1 keeps 39 for machine types 9.1 and older.
        if qemu < .v10_0 {
          return PropertyDefault(value: .int(39), reason: "intel-iommu defaults to 39 before QEMU 10.0")
        }
        if let version = machine.version, version <= .v9_1 {
          return PropertyDefault(value: .int(39), reason: "machine type \(machine) keeps 39 (pc_compat_9_1)")
        }
        return PropertyDefault(
          value: .int(48), reason: "QEMU 10.0 and later default to 48 for machine types 9.2 and later")
      }),
    VIOMMUPropertyRow(
      property: .scalableMode, model: .intel,
      spellings: [
        PropertySpelling("x-scalable-mode", .through(.v11_0), inferred: true),
        PropertySpelling("scalable-mode", .since(.v11_1)),
      ],
      kind: .onOff, libvirtAttribute: nil, help: "intel scalable mode (first-stage translation needs it on)",
      defaultValue: { _, _ in onOffDefault(false, "intel-iommu defaults to scalable mode off") }),
    VIOMMUPropertyRow(
      property: .firstStage, model: .intel,
      spellings: [
        PropertySpelling("x-flts", .between(.v10_0, .v11_0)), PropertySpelling("fsts", .since(.v11_1)),
      ],
      kind: .flag, libvirtAttribute: nil, help: "intel first-stage translation (nested): x-flts=on, fsts=on in 11.1",
      defaultValue: { qemu, _ in
        qemu < .v10_0 ? nil : onOffDefault(false, "intel-iommu defaults to first-stage translation off")
      }),
    VIOMMUPropertyRow(
      property: .fs1gp, model: .intel, spellings: [PropertySpelling("fs1gp", .since(.v10_0))], kind: .onOff,
      libvirtAttribute: nil, help: "intel fs1gp: first-stage 1 GiB pages (with first-stage translation)",
      defaultValue: { qemu, _ in qemu < .v10_0 ? nil : onOffDefault(true, "intel-iommu defaults to fs1gp=on") }),
    VIOMMUPropertyRow(
      property: .pasidBits, model: .intel, spellings: [PropertySpelling("pasid-bits", .since(.v11_1))],
      kind: .bits(0...255), libvirtAttribute: nil, help: "intel pasid-bits: PASID width offered to the guest (11.1)",
      defaultValue: { qemu, _ in
        qemu < .v11_1 ? nil : PropertyDefault(value: .int(0), reason: "intel-iommu defaults to pasid-bits=0")
      }),
  ]

  static let virtio: [VIOMMUPropertyRow] = [
    VIOMMUPropertyRow(
      property: .awBits, model: .virtio, spellings: [PropertySpelling("aw-bits", .since(.v9_0), inferred: true)],
      kind: .bits(0...255), libvirtAttribute: "aw_bits", help: "aw-bits (intel: 39 or 48; virtio: 32-64)",
      defaultValue: { qemu, machine in
        guard qemu >= .v9_0 else { return nil }
        // pc_q35_compat_defaults sets 39 on every q35; hw_compat_8_2 puts back the
        // device's own 64 for machine types 8.2 and older; virt sets 48.
        if let version = machine.version, version <= .v8_2 {
          return PropertyDefault(value: .int(64), reason: "machine type \(machine) keeps 64 (hw_compat_8_2)")
        }
        switch machine.family {
        case MachineType.q35: return PropertyDefault(value: .int(39), reason: "q35 sets virtio-iommu aw-bits to 39")
        case MachineType.virt: return PropertyDefault(value: .int(48), reason: "virt sets virtio-iommu aw-bits to 48")
        default:
          return PropertyDefault(
            value: .int(64), reason: "virtio-iommu's own default (this machine does not override it)")
        }
      }),
    VIOMMUPropertyRow(
      property: .granule, model: .virtio, spellings: [PropertySpelling("granule", .since(.v9_0), inferred: true)],
      kind: .choice(Granule.allCases.map(\.rawValue)), libvirtAttribute: nil,
      help: "virtio granule: 4k, 8k, 16k, 64k or host",
      defaultValue: { qemu, machine in
        guard qemu >= .v9_0 else { return nil }
        if let version = machine.version, version <= .v8_2 {
          return PropertyDefault(value: .word("4k"), reason: "machine type \(machine) keeps 4k (hw_compat_8_2)")
        }
        return PropertyDefault(value: .word("host"), reason: "virtio-iommu defaults to granule=host")
      }),
  ]

  static let amd: [VIOMMUPropertyRow] = [
    VIOMMUPropertyRow(
      property: .dmaRemap, model: .amd, spellings: [PropertySpelling("dma-remap", .since(.v10_2))], kind: .onOff,
      libvirtAttribute: nil, help: "amd dma-remap (10.2): shadow the guest's mappings for VFIO",
      defaultValue: { qemu, _ in qemu < .v10_2 ? nil : onOffDefault(false, "amd-iommu defaults to dma-remap=off") })
  ]

  static let smmuv3: [VIOMMUPropertyRow] = [
    VIOMMUPropertyRow(
      property: .accel, model: .smmuv3, spellings: [PropertySpelling("accel", .since(.v11_0), inferred: true)],
      kind: .flag, libvirtAttribute: nil, help: "smmuv3 accel=on: host-backed nested SMMUv3",
      defaultValue: { qemu, _ in
        qemu < .v11_0 ? nil : onOffDefault(false, "arm-smmuv3 defaults to accel=off (emulated)")
      }),
    VIOMMUPropertyRow(
      property: .oas, model: .smmuv3, spellings: [PropertySpelling("oas", .since(.v11_0), inferred: true)],
      kind: .bits(0...64), libvirtAttribute: nil, help: "smmuv3 oas (44 or 48)",
      defaultValue: { qemu, _ in
        qemu < .v11_0 ? nil : PropertyDefault(value: .int(44), reason: "arm-smmuv3 defaults to oas=44")
      }),
    VIOMMUPropertyRow(
      property: .ssidsize, model: .smmuv3, spellings: [PropertySpelling("ssidsize", .since(.v11_0), inferred: true)],
      kind: .bits(0...20), libvirtAttribute: nil, help: "smmuv3 ssidsize",
      defaultValue: { qemu, _ in
        qemu < .v11_0 ? nil : PropertyDefault(value: .int(0), reason: "arm-smmuv3 defaults to ssidsize=0")
      }),
    VIOMMUPropertyRow(
      property: .ril, model: .smmuv3, spellings: [PropertySpelling("ril", .since(.v11_0), inferred: true)],
      kind: .onOff,
      libvirtAttribute: nil, help: "smmuv3 ril",
      defaultValue: { qemu, _ in qemu < .v11_0 ? nil : onOffDefault(true, "arm-smmuv3 defaults to ril=on") }),
    VIOMMUPropertyRow(
      property: .ats, model: .smmuv3, spellings: [PropertySpelling("ats", .since(.v11_0), inferred: true)],
      kind: .onOff,
      libvirtAttribute: nil, help: "smmuv3 ats",
      defaultValue: { qemu, _ in qemu < .v11_0 ? nil : onOffDefault(false, "arm-smmuv3 defaults to ats=off") }),
  ]
}
