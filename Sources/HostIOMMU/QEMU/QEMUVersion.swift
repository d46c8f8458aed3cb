// hiodctl — QEMU releases and machine types: the two inputs that decide which vIOMMU
// defaults and checks apply.
// SPDX-License-Identifier: GPL-2.0-or-later
//
// Which release a rule belongs to is stated per rule in QEMURules.swift: observed in
// Debian's builds of 7.2, 10.0 and 11.1 (the VM rig's oracle), read in the sources of 7.2,
// 10.0.13 and 10.2.2, or bounded by those and QEMU's history (marked "inferred").

/// A QEMU release, `major.minor`.
///
/// Patch releases (`10.0.2`) are stable fixes that never change a vIOMMU rule, so the
/// patch number is accepted and dropped.
package struct QEMUVersion: Comparable, Hashable, Sendable, CustomStringConvertible {
  /// `10` of 10.2.
  package let major: Int
  /// `2` of 10.2.
  package let minor: Int

  /// The release `major.minor`.
  package init(major: Int, minor: Int) {
    self.major = major
    self.minor = minor
  }

  /// Parses `10.0`, `9.1` or `10.0.2` (patch ignored). Nil for anything else: no `v`
  /// prefix, no `-rc` suffixes, no signs or blanks.
  package init?(_ text: String) {
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    guard (2...3).contains(parts.count),
      parts.allSatisfy({ part in
        // Four digits is plenty and keeps Int conversion from overflowing.
        (1...4).contains(part.count) && part.utf8.allSatisfy { (0x30...0x39).contains($0) }
      }),
      let major = Int(parts[0]), let minor = Int(parts[1])
    else { return nil }
    self.init(major: major, minor: minor)
  }

  /// `10.2`.
  package var description: String { "\(major).\(minor)" }

  /// Release order.
  package static func < (lhs: QEMUVersion, rhs: QEMUVersion) -> Bool {
    (lhs.major, lhs.minor) < (rhs.major, rhs.minor)
  }

  // The releases the rule tables name. QEMU numbers x.0, x.1, x.2 and then moves to the
  // next major, so "before 10.0" means 9.2 and older. (v10_0 reads as "10.0" where the
  // rules cite it; lowerCamelCase would hide the number.)
  // swift-format-ignore: AlwaysUseLowerCamelCase
  static let v7_2 = QEMUVersion(major: 7, minor: 2)
  // swift-format-ignore: AlwaysUseLowerCamelCase
  static let v8_0 = QEMUVersion(major: 8, minor: 0)
  // swift-format-ignore: AlwaysUseLowerCamelCase
  static let v8_1 = QEMUVersion(major: 8, minor: 1)
  // swift-format-ignore: AlwaysUseLowerCamelCase
  static let v8_2 = QEMUVersion(major: 8, minor: 2)
  // swift-format-ignore: AlwaysUseLowerCamelCase
  static let v9_0 = QEMUVersion(major: 9, minor: 0)
  // swift-format-ignore: AlwaysUseLowerCamelCase
  static let v9_1 = QEMUVersion(major: 9, minor: 1)
  // swift-format-ignore: AlwaysUseLowerCamelCase
  static let v9_2 = QEMUVersion(major: 9, minor: 2)
  // swift-format-ignore: AlwaysUseLowerCamelCase
  static let v10_0 = QEMUVersion(major: 10, minor: 0)
  // swift-format-ignore: AlwaysUseLowerCamelCase
  static let v10_1 = QEMUVersion(major: 10, minor: 1)
  // swift-format-ignore: AlwaysUseLowerCamelCase
  static let v10_2 = QEMUVersion(major: 10, minor: 2)
  // swift-format-ignore: AlwaysUseLowerCamelCase
  static let v11_0 = QEMUVersion(major: 11, minor: 0)
  // swift-format-ignore: AlwaysUseLowerCamelCase
  static let v11_1 = QEMUVersion(major: 11, minor: 1)

  /// The releases whose rules hiodctl knows, oldest first: what distributions ship
  /// (Debian 12 has 7.2, Debian 13 10.0, sid and trixie-backports 11.1; Ubuntu 24.04 8.2).
  package static let known: [QEMUVersion] = [
    v7_2, v8_0, v8_1, v8_2, v9_0, v9_1, v9_2, v10_0, v10_1, v10_2, v11_0, v11_1,
  ]

  /// The newest release hiodctl knows.
  package static let newest: QEMUVersion = known.last!

  /// The oldest release hiodctl knows.
  package static let oldest: QEMUVersion = known.first!

  /// The releases whose answers were held against the real QEMU binary (Debian's) by the
  /// VM rig's oracle; the others are bounded by these and by QEMU's history.
  package static let observed: [QEMUVersion] = [v7_2, v10_0, v11_1]

  /// Whether hiodctl knows this release's rules.
  package var isKnown: Bool { Self.known.contains(self) }

  /// The known release whose rules apply: this one, or for a release between two known
  /// ones (none today) the one before; a release newer than the newest is checked with
  /// the newest rules. nil for a release older than the oldest known.
  package var rulesRelease: QEMUVersion? {
    if isKnown { return self }
    if self > Self.newest { return Self.newest }
    return Self.known.last { $0 <= self }.flatMap { self < Self.oldest ? nil : $0 }
  }
}

/// The QEMU releases a rule applies to, printed the way findings show it:
/// "9.1 and later", "10.0–10.2", "9.0–10.1", "all known releases (9.0 and later)".
package struct ReleaseSpan: Hashable, Sendable, CustomStringConvertible {
  /// First release with the rule; nil: every known release.
  package var from: QEMUVersion?
  /// Last release with the rule (inclusive); nil: still current.
  package var through: QEMUVersion?

  /// The rule holds from `version` on.
  static func since(_ version: QEMUVersion) -> ReleaseSpan { ReleaseSpan(from: version, through: nil) }

  /// The rule holds up to and including `version`.
  static func through(_ version: QEMUVersion) -> ReleaseSpan { ReleaseSpan(from: nil, through: version) }

  /// The rule holds from `first` through `last`.
  static func between(_ first: QEMUVersion, _ last: QEMUVersion) -> ReleaseSpan {
    ReleaseSpan(from: first, through: last)
  }

  /// Every release hiodctl knows.
  static let all = ReleaseSpan(from: nil, through: nil)

  /// Whether the rule holds in `version`.
  package func contains(_ version: QEMUVersion) -> Bool {
    (from.map { version >= $0 } ?? true) && (through.map { version <= $0 } ?? true)
  }

  package var description: String {
    switch (from, through) {
    case (nil, nil): "all known releases (\(QEMUVersion.oldest) and later)"
    case (let first?, nil): "\(first) and later"
    case (nil, let last?): last == QEMUVersion.oldest ? "\(last) only" : "\(QEMUVersion.oldest)–\(last)"
    case (let first?, let last?): first == last ? "\(first) only" : "\(first)–\(last)"
    }
  }
}

/// `--machine`: the QEMU machine type, which selects compatibility defaults.
///
/// Accepted spellings are QEMU's: `pc-q35-9.1`, `q35` (the newest q35 of the QEMU in use),
/// `pc-i440fx-9.2`, `pc` (the newest i440fx), `virt-9.2`, `virt`.
package struct MachineType: Hashable, Sendable, CustomStringConvertible {
  /// `q35`, `i440fx` or `virt`.
  package let family: String
  /// The versioned machine's release; nil for the unversioned alias (= the QEMU in use).
  package let version: QEMUVersion?

  /// The x86 PCIe machine, the only one intel-iommu supports.
  package static let q35 = "q35"
  /// The x86 legacy PCI machine (`pc`).
  package static let i440fx = "i440fx"
  /// The Arm virtual machine.
  package static let virt = "virt"

  /// A machine of `family` (`q35`, `i440fx`, `virt`), unversioned when `version` is nil.
  package init(family: String, version: QEMUVersion?) {
    self.family = family
    self.version = version
  }

  /// Parses a QEMU machine name; nil for families hiodctl has no rules for (microvm,
  /// isapc, other targets) and for malformed versions.
  package init?(_ text: String) {
    let spelled: [(prefix: String, alias: String, family: String)] = [
      ("pc-q35-", "q35", Self.q35),
      ("pc-i440fx-", "pc", Self.i440fx),
      ("virt-", "virt", Self.virt),
    ]
    for (prefix, alias, family) in spelled {
      if text == alias {
        self.init(family: family, version: nil)
        return
      }
      if text.hasPrefix(prefix) {
        let versionText = String(text.dropFirst(prefix.count))
        // Machine versions have no patch level: "pc-q35-9.1.2" is not a machine.
        guard versionText.split(separator: ".").count == 2, let version = QEMUVersion(versionText) else {
          return nil
        }
        self.init(family: family, version: version)
        return
      }
    }
    return nil
  }

  /// QEMU's spelling: `pc-q35-9.1`, `q35`, `pc-i440fx-9.2`, `pc`, `virt-9.2`, `virt`.
  package var description: String {
    switch (family, version) {
    case (Self.q35, let version?): "pc-q35-\(version)"
    case (Self.i440fx, let version?): "pc-i440fx-\(version)"
    case (Self.i440fx, nil): "pc"
    case (let family, let version?): "\(family)-\(version)"
    case (let family, nil): family
    }
  }

  /// Whether the machine is an x86 PC (q35 or i440fx).
  package var isX86: Bool { family == Self.q35 || family == Self.i440fx }

  /// The release whose compatibility defaults the machine carries: its own version, or
  /// for the alias the QEMU that runs it.
  package func compatibilityVersion(running qemu: QEMUVersion) -> QEMUVersion {
    version ?? qemu
  }
}

/// What each release's binary has, beyond the vIOMMU rules: its machine types.
enum QEMUReleaseFacts {
  /// The oldest versioned machine of `family` a release still has (`-machine help` of
  /// Debian's 7.2.22, 10.0.13 and 11.1.3; the 10.2.2 source; between them inferred).
  static func oldestMachine(family: String, in release: QEMUVersion) -> QEMUVersion {
    let row = oldestMachines.last { $0.since <= release } ?? oldestMachines[0]
    switch family {
    case MachineType.q35: return row.q35
    case MachineType.i440fx: return row.i440fx
    default: return QEMUVersion(major: 2, minor: 6)
    }
  }

  /// From which release on each family's oldest versioned machine is what, oldest first
  /// (a release keeps the row before it until one names it).
  static let oldestMachines: [(since: QEMUVersion, q35: QEMUVersion, i440fx: QEMUVersion)] = [
    (QEMUVersion.v7_2, QEMUVersion(major: 2, minor: 4), QEMUVersion(major: 1, minor: 4)),
    (QEMUVersion.v8_0, QEMUVersion(major: 2, minor: 4), QEMUVersion(major: 2, minor: 4)),
    (QEMUVersion.v10_2, QEMUVersion(major: 2, minor: 6), QEMUVersion(major: 2, minor: 6)),
    (QEMUVersion.v11_1, QEMUVersion(major: 5, minor: 2), QEMUVersion(major: 5, minor: 2)),
  ]

  /// "pc-q35-5.2 to pc-q35-11.1".
  static func machineRange(family: String, in release: QEMUVersion) -> String {
    let oldest = oldestMachine(family: family, in: release)
    let newest = release.rulesRelease ?? release
    return "\(MachineType(family: family, version: oldest)) to \(MachineType(family: family, version: newest))"
  }
}
