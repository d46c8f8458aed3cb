// hiodctl — AMD-Vi Extended Feature Registers (EFR, EFR2) decoded into named fields, and
// the sysfs `features` text they come from.
// SPDX-License-Identifier: GPL-2.0-or-later
//
// Field positions are Linux drivers/iommu/amd/amd_iommu_types.h (`FEATURE_*`, the
// GENMASK_ULL form). For display only: upstream QEMU's amd-iommu checks nothing on the host.
// Where a position is UNVERIFIED (not in Linux 6.12's header and not checked against the AMD
// IOMMU specification) the field's meaning says so.

/// The AMD IOMMU Extended Feature Register (MMIO 0x30) and, where the kernel reports it,
/// Extended Feature Register 2 (MMIO 0x1a0).
///
/// Accessor names follow Linux's `FEATURE_*` macros (`FEATURE_GAM_VAPIC` → `gamVAPIC`) so
/// they can be matched against the kernel source and its "Extended features" boot line.
package struct AMDExtendedFeatures: RegisterDecoding, Hashable, Sendable {
  /// EFR exactly as read.
  package let efr: UInt64
  /// EFR2, or nil when the source had only EFR (older kernels' sysfs).
  package let efr2: UInt64?

  package init(efr: UInt64, efr2: UInt64?) {
    self.efr = efr
    self.efr2 = efr2
  }

  /// Field positions, declared once for the accessors and for `fields`.
  enum EFR {
    static let prefetch = BitRange(bit: 0)
    static let ppr = BitRange(bit: 1)
    static let x2apic = BitRange(bit: 2)
    static let nx = BitRange(bit: 3)
    static let gt = BitRange(bit: 4)
    static let ia = BitRange(bit: 6)
    static let ga = BitRange(bit: 7)
    static let he = BitRange(bit: 8)
    static let pc = BitRange(bit: 9)
    static let hats = BitRange(11, 10)
    static let gats = BitRange(13, 12)
    static let glx = BitRange(15, 14)
    static let gamVAPIC = BitRange(bit: 21)
    static let pasmax = BitRange(36, 32)
    static let giosup = BitRange(bit: 48)
    static let hasup = BitRange(bit: 49)
    static let ephsup = BitRange(bit: 50)
    static let hdsup = BitRange(bit: 52)
    static let snp = BitRange(bit: 63)
  }

  enum EFR2 {
    static let snpAVICSup = BitRange(7, 5)
  }

  /// EFR.PREFETCH, bit 0 (Linux "PreF"): prefetch of IOMMU page table entries.
  package var prefetch: Bool { EFR.prefetch.isSet(in: efr) }

  /// EFR.PPR, bit 1: peripheral page requests (the AMD counterpart of PRI handling).
  package var ppr: Bool { EFR.ppr.isSet(in: efr) }

  /// EFR.X2APIC (XTSup), bit 2: x2APIC interrupt remapping.
  package var x2apic: Bool { EFR.x2apic.isSet(in: efr) }

  /// EFR.NX, bit 3: no-execute protection in IOMMU page tables.
  package var nx: Bool { EFR.nx.isSet(in: efr) }

  /// EFR.GT, bit 4: guest translation (the v2, x86-format page table used for PASID/SVA
  /// and nesting). Linux only reads PASMAX and GLX when it is set.
  package var gt: Bool { EFR.gt.isSet(in: efr) }

  /// EFR.IA, bit 6: the INVALIDATE_IOMMU_ALL command.
  package var ia: Bool { EFR.ia.isSet(in: efr) }

  /// EFR.GA, bit 7: guest virtual APIC (AVIC) interrupt remapping.
  package var ga: Bool { EFR.ga.isSet(in: efr) }

  /// EFR.HE, bit 8: hardware error registers.
  package var he: Bool { EFR.he.isSet(in: efr) }

  /// EFR.PC, bit 9: performance counters.
  package var pc: Bool { EFR.pc.isSet(in: efr) }

  /// EFR.HATS, bits 11:10: host address translation size code. Linux 6.12's header has no
  /// `FEATURE_HATS`; the position is from the linux-iommu patch "iommu/amd: Add efr[HATS] max
  /// v1 page table level" (June 2025) — UNVERIFIED against the AMD IOMMU specification.
  package var hats: UInt8 { UInt8(truncatingIfNeeded: EFR.hats.value(in: efr)) }

  /// EFR.GATS, bits 13:12: guest address translation size code (Linux: 0 4-level,
  /// 1 5-level guest page tables, `GUEST_PGTABLE_*_LEVEL`).
  package var gats: UInt8 { UInt8(truncatingIfNeeded: EFR.gats.value(in: efr)) }

  /// EFR.GLX, bits 15:14: guest CR3 table levels code (Linux `amd_iommu_max_glx_val`).
  package var glx: UInt8 { UInt8(truncatingIfNeeded: EFR.glx.value(in: efr)) }

  /// EFR.GAM_VAPIC, bit 21: guest virtual APIC mode (vAPIC interrupt remapping mode).
  package var gamVAPIC: Bool { EFR.gamVAPIC.isSet(in: efr) }

  /// EFR.PASMAX, bits 36:32: the raw maximum PASID code (see `maxPASIDs`).
  package var pasmax: UInt8 { UInt8(truncatingIfNeeded: EFR.pasmax.value(in: efr)) }

  /// PASIDs per device as Linux computes them: 2^(PASMAX + 1) − 1 (`iommu.max_pasids`;
  /// meaningful only when `gt` is set).
  package var maxPASIDs: Int { (1 << (Int(pasmax) + 1)) - 1 }

  /// EFR.GIOSUP, bit 48: guest I/O protection.
  package var giosup: Bool { EFR.giosup.isSet(in: efr) }

  /// EFR.HASUP, bit 49: host access (accessed bit updates in host page tables).
  package var hasup: Bool { EFR.hasup.isSet(in: efr) }

  /// EFR.EPHSUP, bit 50: enhanced PPR handling.
  package var ephsup: Bool { EFR.ephsup.isSet(in: efr) }

  /// EFR.HDSUP, bit 52: host dirty bit updates — what Linux needs to offer dirty tracking
  /// (IOMMU_HW_CAP_DIRTY_TRACKING) to iommufd users.
  package var hdsup: Bool { EFR.hdsup.isSet(in: efr) }

  /// EFR.SNP, bit 63: SEV-SNP support.
  package var snp: Bool { EFR.snp.isSet(in: efr) }

  /// EFR2.SNPAVICSUP, bits 7:5: SNP virtual APIC support code (Linux treats 1 as "GAM with
  /// SNP"); nil without EFR2.
  package var snpAVICSup: UInt8? {
    efr2.map { UInt8(truncatingIfNeeded: EFR2.snpAVICSup.value(in: $0)) }
  }

  /// EFR bits no field in `fields` covers.
  package var undecodedEFRBits: UInt64 { efrFields.undecodedBits(of: efr) }

  /// EFR2 bits no field in `fields` covers (all but SNPAVICSUP, the only EFR2 field in Linux
  /// 6.12's amd_iommu_types.h; later kernels add a few, e.g. `FEATURE_GCR3TRPMODE`, that
  /// hiodctl does not decode); nil without EFR2.
  package var undecodedEFR2Bits: UInt64? { efr2.map { efr2Fields($0).undecodedBits(of: $0) } }

  /// Every field hiodctl decodes: EFR fields named "EFR.<field>" in ascending bit order,
  /// then (when EFR2 is known) "EFR2.SNPAVICSUP".
  package var fields: [DecodedField] {
    efrFields + (efr2.map(efr2Fields) ?? [])
  }

  private var efrFields: [DecodedField] {
    [
      .flag("EFR.PREFETCH", EFR.prefetch, in: efr, "page table entry prefetch"),
      .flag("EFR.PPR", EFR.ppr, in: efr, "peripheral page requests"),
      .flag("EFR.X2APIC", EFR.x2apic, in: efr, "x2APIC interrupt remapping"),
      .flag("EFR.NX", EFR.nx, in: efr, "no-execute protection"),
      .flag("EFR.GT", EFR.gt, in: efr, "guest translation"),
      .flag("EFR.IA", EFR.ia, in: efr, "invalidate-all command"),
      .flag("EFR.GA", EFR.ga, in: efr, "guest virtual APIC"),
      .flag("EFR.HE", EFR.he, in: efr, "hardware error registers"),
      .flag("EFR.PC", EFR.pc, in: efr, "performance counters"),
      DecodedField(
        "EFR.HATS", EFR.hats, in: efr,
        "host address translation size code \(hats) (bit position unverified)"),
      DecodedField("EFR.GATS", EFR.gats, in: efr, gatsMeaning),
      DecodedField("EFR.GLX", EFR.glx, in: efr, "guest CR3 table levels code \(glx)"),
      .flag("EFR.GAM_VAPIC", EFR.gamVAPIC, in: efr, "guest vAPIC mode"),
      DecodedField(
        "EFR.PASMAX", EFR.pasmax, in: efr,
        "up to \(maxPASIDs) PASIDs" + (gt ? "" : " (unused: no guest translation)")),
      .flag("EFR.GIOSUP", EFR.giosup, in: efr, "guest I/O protection"),
      .flag("EFR.HASUP", EFR.hasup, in: efr, "host access bit updates"),
      .flag("EFR.EPHSUP", EFR.ephsup, in: efr, "enhanced PPR handling"),
      .flag("EFR.HDSUP", EFR.hdsup, in: efr, "host dirty bit updates (dirty tracking)"),
      .flag("EFR.SNP", EFR.snp, in: efr, "SEV-SNP"),
    ]
  }

  private func efr2Fields(_ efr2: UInt64) -> [DecodedField] {
    let code = EFR2.snpAVICSup.value(in: efr2)
    return [
      DecodedField(
        "EFR2.SNPAVICSUP", EFR2.snpAVICSup, in: efr2,
        code == 1 ? "SNP virtual APIC: guest vAPIC mode supported with SNP" : "SNP virtual APIC code \(code)")
    ]
  }

  private var gatsMeaning: String {
    switch gats {
    case 0: "4-level guest page tables"
    case 1: "5-level guest page tables"
    default: "guest address translation size code \(gats)"
    }
  }
}

extension AMDExtendedFeatures {
  /// The numbers in `/sys/class/iommu/ivhdN/amd-iommu/features`.
  ///
  /// Kernels print "%llx\n" (EFR only) or "%llx:%llx\n". The two-value form appeared as
  /// EFR2:EFR and later changed to EFR:EFR2 (Linux drivers/iommu/amd/init.c
  /// `amd_iommu_show_features`; which kernel versions is UNVERIFIED), and the text itself
  /// does not say which — so the values are kept in the order printed and `orderKnown` says
  /// whether that order means anything.
  package struct SysfsFeatures: Hashable, Sendable {
    /// The hex values in the order printed: one (EFR) or two (EFR and EFR2, order unknown).
    package let values: [UInt64]
    /// Whether `values` is known to be EFR then EFR2. The parser sets it only for the
    /// one-value form, which is always EFR; a caller that knows its kernel's format may
    /// build a value with two values and `orderKnown: true`.
    package let orderKnown: Bool

    package init(values: [UInt64], orderKnown: Bool) {
      self.values = values
      self.orderKnown = orderKnown
    }

    /// The decoding when the order is known (EFR, then EFR2 if present); nil otherwise.
    package var unambiguous: AMDExtendedFeatures? {
      guard orderKnown, let efr = values.first else { return nil }
      return AMDExtendedFeatures(efr: efr, efr2: values.count > 1 ? values[1] : nil)
    }

    /// Every reading the text allows: one for the EFR-only form; for two values, EFR:EFR2
    /// first (what current kernels print) and then EFR2:EFR. A report can show both rather
    /// than guess. Identical readings are listed once.
    package var interpretations: [AMDExtendedFeatures] {
      if let unambiguous { return [unambiguous] }
      guard values.count == 2 else { return [] }
      let current = AMDExtendedFeatures(efr: values[0], efr2: values[1])
      let older = AMDExtendedFeatures(efr: values[1], efr2: values[0])
      return current == older ? [current] : [current, older]
    }

    /// Resolves the order with an EFR learnt elsewhere (`iommu_hw_info_amd.efr` from
    /// IOMMU_GET_HW_INFO): the reading whose EFR matches `efr`, or nil if none or both do
    /// and they differ.
    package func resolved(knownEFR efr: UInt64) -> AMDExtendedFeatures? {
      let matching = interpretations.filter { $0.efr == efr }
      return matching.count == 1 ? matching.first : nil
    }
  }

  /// Parses the sysfs `features` text: one or two `:`-separated hex values (no `0x`, one
  /// trailing newline; a `0x` prefix is tolerated). Nil for anything else — empty text,
  /// non-hex, more than 16 digits, or more than two values.
  package static func parseSysfsFeatures(_ text: String) -> SysfsFeatures? {
    let parts = text.trimmingWhitespace().split(separator: ":", omittingEmptySubsequences: false)
    guard parts.count == 1 || parts.count == 2 else { return nil }
    var values: [UInt64] = []
    for part in parts {
      guard let value = UInt64(registerText: part) else { return nil }
      values.append(value)
    }
    return SysfsFeatures(values: values, orderKnown: values.count == 1)
  }
}
