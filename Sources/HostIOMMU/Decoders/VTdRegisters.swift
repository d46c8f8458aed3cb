// hiodctl — Intel VT-d CAP_REG and ECAP_REG decoded into named fields.
// SPDX-License-Identifier: GPL-2.0-or-later
//
// Field positions are Linux drivers/iommu/intel/iommu.h (`cap_*`, `ecap_*`; torvalds/linux
// @037dd130) checked against QEMU hw/i386/intel_iommu_internal.h (`VTD_CAP_*`, `VTD_ECAP_*`).
// The same two 64-bit values reach hiodctl from sysfs
// (`/sys/class/iommu/dmarN/intel-iommu/{cap,ecap}`, no privileges) and from IOMMU_GET_HW_INFO
// (`iommu_hw_info_vtd.cap_reg/ecap_reg`).

/// The VT-d Capability Register (CAP_REG, MMIO offset 0x08).
///
/// QEMU reads it for one host check: with `x-flts=on,fs1gp=on` it needs FS1GP (bit 56).
/// MGAW/SAGAW explain the host's address width, but QEMU takes aw_bits from the IOVA ranges,
/// not from this register.
package struct VTdCapability: RegisterDecoding, Hashable, Sendable {
  /// The register exactly as read.
  package let raw: UInt64

  package init(_ raw: UInt64) {
    self.raw = raw
  }

  /// Field positions, declared once for the accessors and for `fields`.
  enum Bits {
    static let nd = BitRange(2, 0)
    static let afl = BitRange(bit: 3)
    static let rwbf = BitRange(bit: 4)
    static let plmr = BitRange(bit: 5)
    static let phmr = BitRange(bit: 6)
    static let cm = BitRange(bit: 7)
    static let sagaw = BitRange(12, 8)
    static let mgaw = BitRange(21, 16)
    static let zlr = BitRange(bit: 22)
    static let isoch = BitRange(bit: 23)
    static let fro = BitRange(33, 24)
    static let sllps = BitRange(37, 34)
    static let psi = BitRange(bit: 39)
    static let nfr = BitRange(47, 40)
    static let mamv = BitRange(53, 48)
    static let dwd = BitRange(bit: 54)
    static let drd = BitRange(bit: 55)
    static let fs1gp = BitRange(bit: 56)
    static let pi = BitRange(bit: 59)
    static let fs5lp = BitRange(bit: 60)
    static let ecmds = BitRange(bit: 61)
    static let esirtps = BitRange(bit: 62)
    static let esrtps = BitRange(bit: 63)
  }

  /// CAP.ND, bits 2:0: the raw "number of domains" code.
  package var nd: UInt8 { UInt8(truncatingIfNeeded: Bits.nd.value(in: raw)) }

  /// CAP.ND, bits 2:0, as a count: 2^(4 + 2·ND) domain ids (Linux `cap_ndoms`; code 7 is
  /// reserved and yields 2^18 by the same rule).
  package var numberOfDomains: Int { 1 << (4 + 2 * Int(nd)) }

  /// CAP.AFL, bit 3: advanced fault logging.
  package var advancedFaultLogging: Bool { Bits.afl.isSet(in: raw) }

  /// CAP.RWBF, bit 4: software must flush the write buffer after updating tables.
  package var requiredWriteBufferFlushing: Bool { Bits.rwbf.isSet(in: raw) }

  /// CAP.PLMR, bit 5: protected low-memory region.
  package var protectedLowMemoryRegion: Bool { Bits.plmr.isSet(in: raw) }

  /// CAP.PHMR, bit 6: protected high-memory region.
  package var protectedHighMemoryRegion: Bool { Bits.phmr.isSet(in: raw) }

  /// CAP.CM, bit 7: caching mode — the unit may cache not-present entries, so software must
  /// invalidate after making entries present. Emulated units (QEMU `caching-mode=on`) set it
  /// so the hypervisor sees every mapping; QEMU requires it of its own vIOMMU for VFIO.
  package var cachingMode: Bool { Bits.cm.isSet(in: raw) }

  /// CAP.SAGAW, bits 12:8: supported adjusted guest address widths, one bit per page-table
  /// depth (bit 1 = 39-bit/3-level, bit 2 = 48-bit/4-level, bit 3 = 57-bit/5-level).
  /// Zero means no second-stage translation (QEMU with `dma-translation=off`).
  package var sagaw: UInt8 { UInt8(truncatingIfNeeded: Bits.sagaw.value(in: raw)) }

  /// The address widths SAGAW advertises, ascending, by Linux's `agaw_to_width` rule:
  /// SAGAW bit n ⇒ min(30 + 9·n, 64) bits. Bits 0 (30-bit) and 4 (64-bit) are reserved in
  /// current specs but are reported if set, as Linux would use them.
  package var supportedAddressWidths: [Int] {
    (0..<5).filter { sagaw & (1 << $0) != 0 }.map(Self.addressWidth(agaw:))
  }

  /// CAP.MGAW, bits 21:16: maximum guest address width in bits (field + 1; Linux `cap_mgaw`,
  /// QEMU `VTD_CAP_MGAW(aw-bits)`), e.g. 39 or 48.
  package var mgaw: Int { Int(Bits.mgaw.value(in: raw)) + 1 }

  /// CAP.ZLR, bit 22: zero-length DMA reads to write-only pages are allowed.
  package var zeroLengthRead: Bool { Bits.zlr.isSet(in: raw) }

  /// CAP.ISOCH, bit 23 (deprecated in current specs): isochrony.
  package var isochrony: Bool { Bits.isoch.isSet(in: raw) }

  /// CAP.FRO, bits 33:24: offset of the fault recording registers from the register base,
  /// in bytes (field × 16; Linux `cap_fault_reg_offset`).
  package var faultRecordingOffset: Int { Int(Bits.fro.value(in: raw)) * 16 }

  /// CAP.SLLPS, bits 37:34: the raw second-stage large-page support bits
  /// (bit 34 = 2 MiB, bit 35 = 1 GiB; Linux `cap_super_page_val`).
  package var sllps: UInt8 { UInt8(truncatingIfNeeded: Bits.sllps.value(in: raw)) }

  /// CAP.SLLPS bits 34 and 35: second-stage 2 MiB and 1 GiB pages.
  package var secondStageLargePages: (twoMiB: Bool, oneGiB: Bool) {
    (sllps & 0b01 != 0, sllps & 0b10 != 0)
  }

  /// CAP.PSI, bit 39: page-selective IOTLB invalidation.
  package var pageSelectiveInvalidation: Bool { Bits.psi.isSet(in: raw) }

  /// CAP.NFR, bits 47:40: number of fault recording registers (field + 1).
  package var numberOfFaultRecordingRegisters: Int { Int(Bits.nfr.value(in: raw)) + 1 }

  /// CAP.MAMV, bits 53:48: maximum address mask value for page-selective invalidation
  /// (one invalidation can cover 2^MAMV pages).
  package var maxAddressMaskValue: Int { Int(Bits.mamv.value(in: raw)) }

  /// CAP.DWD, bit 54: write draining.
  package var writeDraining: Bool { Bits.dwd.isSet(in: raw) }

  /// CAP.DRD, bit 55: read draining.
  package var readDraining: Bool { Bits.drd.isSet(in: raw) }

  /// CAP.FS1GP, bit 56: first-stage 1 GiB pages (Linux `cap_fl1gp_support`). QEMU ≥ 11.0
  /// with `x-flts=on` and `fs1gp=on` (the default) rejects a host without it: "First stage
  /// 1GB large page is unsupported by host IOMMU".
  package var firstStage1GiBPages: Bool { Bits.fs1gp.isSet(in: raw) }

  /// CAP.PI, bit 59: posted interrupts.
  package var postedInterrupts: Bool { Bits.pi.isSet(in: raw) }

  /// CAP.FS5LP, bit 60: first-stage 5-level paging (Linux `cap_fl5lp_support`).
  package var firstStage5LevelPaging: Bool { Bits.fs5lp.isSet(in: raw) }

  /// CAP.ECMDS, bit 61: enhanced command support.
  package var enhancedCommand: Bool { Bits.ecmds.isSet(in: raw) }

  /// CAP.ESIRTPS, bit 62: setting the interrupt remapping table pointer also invalidates
  /// the interrupt entry cache.
  package var enhancedSetInterruptRemapTablePointer: Bool { Bits.esirtps.isSet(in: raw) }

  /// CAP.ESRTPS, bit 63: setting the root table pointer also invalidates the caches.
  package var enhancedSetRootTablePointer: Bool { Bits.esrtps.isSet(in: raw) }

  /// Register bits no field in `fields` covers: those Linux's iommu.h has no `cap_*` macro for.
  package var undecodedBits: UInt64 { fields.undecodedBits(of: raw) }

  /// Every CAP field of Linux's iommu.h (`cap_*`), in ascending bit order.
  package var fields: [DecodedField] {
    [
      DecodedField(
        "ND", Bits.nd, in: raw, "\(numberOfDomains) domain ids" + (nd == 7 ? " (reserved encoding)" : "")),
      .flag("AFL", Bits.afl, in: raw, "advanced fault logging"),
      .flag(
        "RWBF", Bits.rwbf, in: raw, set: "write-buffer flushing required",
        clear: "no write-buffer flushing required"),
      .flag("PLMR", Bits.plmr, in: raw, "protected low-memory region"),
      .flag("PHMR", Bits.phmr, in: raw, "protected high-memory region"),
      .flag(
        "CM", Bits.cm, in: raw, set: "caching mode on (not-present entries may be cached)",
        clear: "caching mode off"),
      DecodedField("SAGAW", Bits.sagaw, in: raw, sagawMeaning),
      DecodedField("MGAW", Bits.mgaw, in: raw, "\(mgaw)-bit max guest address width"),
      .flag("ZLR", Bits.zlr, in: raw, "zero-length reads"),
      .flag("ISOCH", Bits.isoch, in: raw, "isochrony (deprecated)"),
      DecodedField(
        "FRO", Bits.fro, in: raw,
        "fault recording registers at offset \(UInt64(faultRecordingOffset).shortHex)"),
      DecodedField("SLLPS", Bits.sllps, in: raw, sllpsMeaning),
      .flag("PSI", Bits.psi, in: raw, "page-selective invalidation"),
      DecodedField(
        "NFR", Bits.nfr, in: raw,
        "\(numberOfFaultRecordingRegisters) fault recording register"
          + (numberOfFaultRecordingRegisters == 1 ? "" : "s")),
      DecodedField(
        "MAMV", Bits.mamv, in: raw,
        "invalidation address mask up to \(maxAddressMaskValue) (2^\(maxAddressMaskValue) pages)"),
      .flag("DWD", Bits.dwd, in: raw, "write draining"),
      .flag("DRD", Bits.drd, in: raw, "read draining"),
      .flag("FS1GP", Bits.fs1gp, in: raw, "first-stage 1 GiB pages"),
      .flag("PI", Bits.pi, in: raw, "posted interrupts"),
      .flag("FS5LP", Bits.fs5lp, in: raw, "first-stage 5-level paging"),
      .flag("ECMDS", Bits.ecmds, in: raw, "enhanced command"),
      .flag("ESIRTPS", Bits.esirtps, in: raw, "enhanced set interrupt remap table pointer"),
      .flag("ESRTPS", Bits.esrtps, in: raw, "enhanced set root table pointer"),
    ]
  }

  /// Linux `agaw_to_width`: AGAW n covers 30 + 9·n bits, capped at 64.
  static func addressWidth(agaw: Int) -> Int {
    min(30 + 9 * agaw, 64)
  }

  private var sagawMeaning: String {
    guard sagaw != 0 else { return "no second-stage address widths (no DMA translation)" }
    let widths = (0..<5).filter { sagaw & (1 << $0) != 0 }.map { agaw in
      // agaw n walks n + 2 levels of 9-bit page tables above the 4 KiB page.
      let text = "\(Self.addressWidth(agaw: agaw))-bit (\(agaw + 2)-level)"
      return agaw == 0 || agaw == 4 ? text + " [reserved bit \(agaw)]" : text
    }
    return widths.joined(separator: ", ")
  }

  private var sllpsMeaning: String {
    let pages = secondStageLargePages
    var sizes: [String] = []
    if pages.twoMiB { sizes.append("2 MiB") }
    if pages.oneGiB { sizes.append("1 GiB") }
    var text =
      sizes.isEmpty ? "no second-stage large pages" : sizes.joined(separator: " and ") + " second-stage pages"
    // hiodctl names no page size for bits 36 and 37 (QEMU sets only 34 and 35); say so rather
    // than drop them.
    let undefined = (2..<4).filter { sllps & (1 << $0) != 0 }.map { "\(34 + $0)" }
    if !undefined.isEmpty { text += "; undefined bit \(undefined.joined(separator: ", ")) set" }
    return text
  }
}

/// The VT-d Extended Capability Register (ECAP_REG, MMIO offset 0x10).
///
/// The fields that decide nesting: Linux allocates a nesting-parent HWPT (what QEMU ≥ 11.0
/// asks for with `x-flts=on`) only when its scalable mode is on and ECAP.SMTS and ECAP.NEST
/// are set (`nested_supported`), and offers dirty tracking when SMTS, SLADS and SMPWC are
/// set (`ssads_supported`).
package struct VTdExtendedCapability: RegisterDecoding, Hashable, Sendable {
  /// The register exactly as read.
  package let raw: UInt64

  package init(_ raw: UInt64) {
    self.raw = raw
  }

  /// Field positions, declared once for the accessors and for `fields`.
  enum Bits {
    static let c = BitRange(bit: 0)
    static let qi = BitRange(bit: 1)
    static let dt = BitRange(bit: 2)
    static let ir = BitRange(bit: 3)
    static let eim = BitRange(bit: 4)
    static let pt = BitRange(bit: 6)
    static let sc = BitRange(bit: 7)
    static let iro = BitRange(17, 8)
    static let mhmv = BitRange(23, 20)
    static let mts = BitRange(bit: 25)
    static let nest = BitRange(bit: 26)
    static let dis = BitRange(bit: 27)
    static let legacyPASID = BitRange(bit: 28)
    static let prs = BitRange(bit: 29)
    static let ers = BitRange(bit: 30)
    static let srs = BitRange(bit: 31)
    static let nwfs = BitRange(bit: 33)
    static let eafs = BitRange(bit: 34)
    static let pss = BitRange(39, 35)
    static let pasid = BitRange(bit: 40)
    static let dit = BitRange(bit: 41)
    static let pds = BitRange(bit: 42)
    static let smts = BitRange(bit: 43)
    static let vcs = BitRange(bit: 44)
    static let slads = BitRange(bit: 45)
    static let ssts = BitRange(bit: 46)
    static let fsts = BitRange(bit: 47)
    static let smpwc = BitRange(bit: 48)
    static let rps = BitRange(bit: 49)
    static let pms = BitRange(bit: 51)
  }

  /// ECAP.C, bit 0: page-walk coherency (legacy-mode table walks snoop the CPU caches).
  package var pageWalkCoherency: Bool { Bits.c.isSet(in: raw) }

  /// ECAP.QI, bit 1: queued invalidation.
  package var queuedInvalidation: Bool { Bits.qi.isSet(in: raw) }

  /// ECAP.DT, bit 2: device-TLB (ATS) support.
  package var deviceTLB: Bool { Bits.dt.isSet(in: raw) }

  /// ECAP.IR, bit 3: interrupt remapping. Without it (or another MSI isolation) VFIO
  /// refuses the device unless `allow_unsafe_interrupts` is set.
  package var interruptRemapping: Bool { Bits.ir.isSet(in: raw) }

  /// ECAP.EIM, bit 4: extended interrupt mode (x2APIC, 32-bit destination ids).
  package var extendedInterruptMode: Bool { Bits.eim.isSet(in: raw) }

  /// ECAP.PT, bit 6: pass-through translation.
  package var passThrough: Bool { Bits.pt.isSet(in: raw) }

  /// ECAP.SC, bit 7: snoop control.
  package var snoopControl: Bool { Bits.sc.isSet(in: raw) }

  /// ECAP.IRO, bits 17:8: offset of the IOTLB registers from the register base, in bytes
  /// (field × 16; Linux `ecap_iotlb_offset`).
  package var iotlbRegisterOffset: Int { Int(Bits.iro.value(in: raw)) * 16 }

  /// ECAP.MHMV, bits 23:20: maximum handle mask value for interrupt-entry-cache invalidation.
  package var maxHandleMaskValue: Int { Int(Bits.mhmv.value(in: raw)) }

  /// ECAP.MTS, bit 25: memory type support.
  package var memoryTypeSupport: Bool { Bits.mts.isSet(in: raw) }

  /// ECAP.NEST, bit 26: nested translation. Linux needs it (and SMTS, with its scalable mode
  /// on) to allocate a nesting-parent HWPT. QEMU's emulated VT-d does not set it (the
  /// project's VM rig saw the guest kernel refuse a nesting-parent HWPT for that reason).
  package var nestedTranslation: Bool { Bits.nest.isSet(in: raw) }

  /// ECAP.DIS, bit 27 (deprecated): deferred invalidate support.
  package var deferredInvalidate: Bool { Bits.dis.isSet(in: raw) }

  /// ECAP bit 28 (deprecated): the VT-d 2.x extended-context PASID support that Linux treats
  /// as broken (`ecap_broken_pasid`) and ignores; scalable-mode PASID is bit 40.
  package var legacyPASID: Bool { Bits.legacyPASID.isSet(in: raw) }

  /// ECAP.PRS, bit 29: page requests (PRI).
  package var pageRequests: Bool { Bits.prs.isSet(in: raw) }

  /// ECAP.ERS, bit 30: execute requests.
  package var executeRequests: Bool { Bits.ers.isSet(in: raw) }

  /// ECAP.SRS, bit 31: supervisor requests.
  package var supervisorRequests: Bool { Bits.srs.isSet(in: raw) }

  /// ECAP.NWFS, bit 33: no write flag.
  package var noWriteFlag: Bool { Bits.nwfs.isSet(in: raw) }

  /// ECAP.EAFS, bit 34: extended accessed flag.
  package var extendedAccessedFlag: Bool { Bits.eafs.isSet(in: raw) }

  /// ECAP.PSS, bits 39:35: the raw PASID size field.
  package var pss: UInt8 { UInt8(truncatingIfNeeded: Bits.pss.value(in: raw)) }

  /// ECAP.PSS, bits 39:35, as a width: PASIDs are PSS + 1 bits wide (meaningful only when
  /// `pasid` is set). QEMU `x-pasid-mode=on` advertises PSS 7 (8-bit PASIDs).
  package var pasidWidth: Int { Int(pss) + 1 }

  /// ECAP.PASID, bit 40: scalable-mode PASID support (Linux `pasid_supported` also needs
  /// its scalable mode on).
  package var pasid: Bool { Bits.pasid.isSet(in: raw) }

  /// ECAP.DIT, bit 41: device-TLB invalidation throttling.
  package var deviceTLBInvalidationThrottling: Bool { Bits.dit.isSet(in: raw) }

  /// ECAP.PDS, bit 42: page-request drain.
  package var pageRequestDrain: Bool { Bits.pds.isSet(in: raw) }

  /// ECAP.SMTS, bit 43: scalable-mode translation. Every Linux nesting, PASID and dirty
  /// tracking feature needs it.
  package var scalableMode: Bool { Bits.smts.isSet(in: raw) }

  /// ECAP.VCS, bit 44: virtual command support.
  package var virtualCommand: Bool { Bits.vcs.isSet(in: raw) }

  /// ECAP.SLADS, bit 45: second-stage accessed/dirty bits (the hardware half of dirty
  /// tracking).
  package var secondStageAccessDirty: Bool { Bits.slads.isSet(in: raw) }

  /// ECAP.SSTS (older name SLTS), bit 46: second-stage translation in scalable mode.
  package var secondStageTranslation: Bool { Bits.ssts.isSet(in: raw) }

  /// ECAP.FSTS (older name FLTS), bit 47: first-stage translation in scalable mode —
  /// what QEMU's `x-flts=on` advertises to the guest and nests onto the host.
  package var firstStageTranslation: Bool { Bits.fsts.isSet(in: raw) }

  /// ECAP.SMPWC, bit 48: scalable-mode page-walk coherency. Newer Linux requires it for
  /// dirty tracking.
  package var pageWalkCoherencyScalable: Bool { Bits.smpwc.isSet(in: raw) }

  /// ECAP.RPS, bit 49: RID-PASID support.
  package var ridPASID: Bool { Bits.rps.isSet(in: raw) }

  /// ECAP.PMS, bit 51: performance monitoring.
  package var performanceMonitoring: Bool { Bits.pms.isSet(in: raw) }

  /// The register half of Linux's `nested_supported()`: SMTS and NEST. The other half —
  /// the kernel running in scalable mode (`intel_iommu=sm_on`, default on recent kernels) —
  /// is not in the register, so this is a necessary condition, not a verdict.
  package var registersAllowNesting: Bool { scalableMode && nestedTranslation }

  /// The register half of Linux's `ssads_supported()` (dirty tracking,
  /// IOMMU_HW_CAP_DIRTY_TRACKING) in newer kernels: SMTS, SLADS and SMPWC. Older kernels did
  /// not require SMPWC.
  package var registersAllowDirtyTracking: Bool {
    scalableMode && secondStageAccessDirty && pageWalkCoherencyScalable
  }

  /// Register bits no field in `fields` covers: those Linux's iommu.h has no `ecap_*` macro for.
  package var undecodedBits: UInt64 { fields.undecodedBits(of: raw) }

  /// Every ECAP field of Linux's iommu.h (`ecap_*`), in ascending bit order.
  package var fields: [DecodedField] {
    [
      .flag("C", Bits.c, in: raw, "page-walk coherency"),
      .flag("QI", Bits.qi, in: raw, "queued invalidation"),
      .flag("DT", Bits.dt, in: raw, "device-TLB (ATS)"),
      .flag("IR", Bits.ir, in: raw, "interrupt remapping"),
      .flag("EIM", Bits.eim, in: raw, "extended interrupt mode (x2APIC)"),
      .flag("PT", Bits.pt, in: raw, "pass-through"),
      .flag("SC", Bits.sc, in: raw, "snoop control"),
      DecodedField(
        "IRO", Bits.iro, in: raw, "IOTLB registers at offset \(UInt64(iotlbRegisterOffset).shortHex)"),
      DecodedField("MHMV", Bits.mhmv, in: raw, "interrupt handle mask up to \(maxHandleMaskValue)"),
      .flag("MTS", Bits.mts, in: raw, "memory type"),
      .flag("NEST", Bits.nest, in: raw, "nested translation"),
      .flag("DIS", Bits.dis, in: raw, "deferred invalidate (deprecated)"),
      .flag("LEGACY_PASID", Bits.legacyPASID, in: raw, "legacy extended-context PASID (deprecated)"),
      .flag("PRS", Bits.prs, in: raw, "page requests"),
      .flag("ERS", Bits.ers, in: raw, "execute requests"),
      .flag("SRS", Bits.srs, in: raw, "supervisor requests"),
      .flag("NWFS", Bits.nwfs, in: raw, "no-write flag"),
      .flag("EAFS", Bits.eafs, in: raw, "extended accessed flag"),
      DecodedField(
        "PSS", Bits.pss, in: raw,
        pasid ? "\(pasidWidth)-bit PASIDs" : "\(pasidWidth)-bit PASIDs (unused: PASID not supported)"),
      .flag("PASID", Bits.pasid, in: raw, "PASID"),
      .flag("DIT", Bits.dit, in: raw, "device-TLB invalidation throttling"),
      .flag("PDS", Bits.pds, in: raw, "page-request drain"),
      .flag("SMTS", Bits.smts, in: raw, "scalable mode"),
      .flag("VCS", Bits.vcs, in: raw, "virtual command"),
      .flag("SLADS", Bits.slads, in: raw, "second-stage accessed/dirty bits"),
      .flag("SSTS", Bits.ssts, in: raw, "second-stage (SLTS) translation"),
      .flag("FSTS", Bits.fsts, in: raw, "first-stage (FLTS) translation"),
      .flag("SMPWC", Bits.smpwc, in: raw, "scalable-mode page-walk coherency"),
      .flag("RPS", Bits.rps, in: raw, "RID-PASID"),
      .flag("PMS", Bits.pms, in: raw, "performance monitoring"),
    ]
  }
}

extension VTdCapability {
  /// Parses a VT-d register as sysfs prints it (`cap`, `ecap`: "%llx\n", hex without `0x`;
  /// a `0x` prefix is tolerated). Nil for anything else, including more than 16 digits.
  package static func parseSysfsRegister(_ text: String) -> UInt64? {
    UInt64(registerText: text[...])
  }

  /// Decodes `/sys/class/iommu/dmarN/intel-iommu/cap`.
  package init?(sysfsText text: String) {
    guard let raw = Self.parseSysfsRegister(text) else { return nil }
    self.init(raw)
  }
}

extension VTdExtendedCapability {
  /// Decodes `/sys/class/iommu/dmarN/intel-iommu/ecap`.
  package init?(sysfsText text: String) {
    guard let raw = VTdCapability.parseSysfsRegister(text) else { return nil }
    self.init(raw)
  }
}
