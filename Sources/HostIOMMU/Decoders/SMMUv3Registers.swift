// hiodctl — Arm SMMUv3 ID registers (IDR0–IDR5, IIDR, AIDR) decoded into named fields.
// SPDX-License-Identifier: GPL-2.0-or-later
//
// Field positions are QEMU's IDR0–IDR5 `FIELD`s: hw/arm/smmuv3-internal.h up to 10.2, moved
// to include/hw/arm/smmuv3-common.h in the 11.0 cycle (Jan 2026); they are the same as the Arm
// SMMUv3 specification (IHI 0070) and Linux drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h. QEMU
// defines IIDR without fields; IIDR's fields follow Linux arm-smmu-v3.h `IIDR_*`. The registers
// reach hiodctl only through IOMMU_GET_HW_INFO (`iommu_hw_info_arm_smmuv3`): upstream sysfs has
// no SMMUv3 attributes.

/// The SMMUv3 identification registers as `iommu_hw_info_arm_smmuv3` returns them.
///
/// QEMU ≥ 11.0 `arm-smmuv3,accel=on` compares these against its own vSMMU's registers
/// (`smmuv3_accel_set_iommu_device`): STLEVEL and GRAN4K/16K/64K must be equal; TTENDIAN
/// host ≤ vSMMU; TTF, SIDSIZE, SSIDSIZE, RIL, OAS and (with `ats=on`) ATS host ≥ vSMMU.
package struct SMMUv3Registers: RegisterDecoding, Hashable, Sendable {
  /// IDR0…IDR5, in order. IDR2 and IDR4 are kept raw: hiodctl decodes nothing in them, and
  /// QEMU's accel check reads neither.
  package let idr: [UInt32]
  /// IIDR: implementer, revision, variant and product of this SMMU.
  package let iidr: UInt32
  /// AIDR: the SMMU architecture revision, kept raw.
  package let aidr: UInt32

  /// The registers of one SMMU. `idr` must hold exactly the six IDRs the uapi struct has;
  /// any other count is a programming error. Use `init(exactly:iidr:aidr:)` for values from
  /// a file or other untrusted source.
  package init(idr: [UInt32], iidr: UInt32, aidr: UInt32) {
    precondition(idr.count == 6, "SMMUv3Registers needs IDR0...IDR5, got \(idr.count) values")
    self.idr = idr
    self.iidr = iidr
    self.aidr = aidr
  }

  /// The registers of one SMMU, or nil unless `idr` holds exactly six values.
  package init?(exactly idr: [UInt32], iidr: UInt32, aidr: UInt32) {
    guard idr.count == 6 else { return nil }
    self.init(idr: idr, iidr: iidr, aidr: aidr)
  }

  /// Field positions per register, declared once for the accessors and for `fields`.
  enum IDR0 {
    static let s2p = BitRange(bit: 0)
    static let s1p = BitRange(bit: 1)
    static let ttf = BitRange(3, 2)
    static let cohacc = BitRange(bit: 4)
    static let btm = BitRange(bit: 5)
    static let httu = BitRange(7, 6)
    static let ats = BitRange(bit: 10)
    static let asid16 = BitRange(bit: 12)
    static let vmid16 = BitRange(bit: 18)
    static let cd2l = BitRange(bit: 19)
    static let ttendian = BitRange(22, 21)
    static let stallModel = BitRange(25, 24)
    static let termModel = BitRange(bit: 26)
    static let stlevel = BitRange(28, 27)
  }

  enum IDR1 {
    static let sidsize = BitRange(5, 0)
    static let ssidsize = BitRange(10, 6)
    static let priqs = BitRange(15, 11)
    static let eventqs = BitRange(20, 16)
    static let cmdqs = BitRange(25, 21)
  }

  enum IDR3 {
    static let had = BitRange(bit: 2)
    static let pbha = BitRange(bit: 3)
    static let xnx = BitRange(bit: 4)
    static let pps = BitRange(bit: 5)
    static let mpam = BitRange(bit: 7)
    static let fwb = BitRange(bit: 8)
    static let stt = BitRange(bit: 9)
    static let ril = BitRange(bit: 10)
    static let bbml = BitRange(12, 11)
  }

  enum IDR5 {
    static let oas = BitRange(2, 0)
    static let gran4K = BitRange(bit: 4)
    static let gran16K = BitRange(bit: 5)
    static let gran64K = BitRange(bit: 6)
    static let vax = BitRange(11, 10)
  }

  enum IIDR {
    static let implementer = BitRange(11, 0)
    static let revision = BitRange(15, 12)
    static let variant = BitRange(19, 16)
    static let productID = BitRange(31, 20)
  }

  /// IDRn widened to 64 bits for the shared bit helpers; 0 past the end, so accessors stay
  /// total even for a value built some way that bypassed the initialisers' count check.
  private func register(_ index: Int) -> UInt64 {
    idr.indices.contains(index) ? UInt64(idr[index]) : 0
  }

  private func code(_ range: BitRange, of index: Int) -> UInt8 {
    UInt8(truncatingIfNeeded: range.value(in: register(index)))
  }

  // MARK: IDR0

  /// IDR0.S2P, bit 0: stage 2 translation. Linux needs it for a nesting-parent HWPT, which
  /// QEMU `accel=on` allocates.
  package var stage2: Bool { IDR0.s2p.isSet(in: register(0)) }

  /// IDR0.S1P, bit 1: stage 1 translation.
  package var stage1: Bool { IDR0.s1p.isSet(in: register(0)) }

  /// IDR0.TTF, bits 3:2: translation table formats (1 AArch32, 2 AArch64, 3 both).
  /// QEMU `accel=on` needs host ≥ its own value (2): "Host SMMUv3 doesn't support AArch64
  /// translation table format".
  package var translationTableFormat: UInt8 { code(IDR0.ttf, of: 0) }

  /// `translationTableFormat` in words.
  package var translationTableFormatDescription: String {
    switch translationTableFormat {
    case 1: "AArch32 (LPAE) tables only"
    case 2: "AArch64 tables"
    case 3: "AArch32 and AArch64 tables"
    default: "reserved code 0"
    }
  }

  /// IDR0.COHACC, bit 4: coherent access to tables and queues.
  package var coherentAccess: Bool { IDR0.cohacc.isSet(in: register(0)) }

  /// IDR0.BTM, bit 5: broadcast TLB maintenance.
  package var broadcastTLBMaintenance: Bool { IDR0.btm.isSet(in: register(0)) }

  /// IDR0.HTTU, bits 7:6: hardware translation table updates (1 access flag, 2 access and
  /// dirty flags; Linux `IDR0_HTTU_ACCESS`, `IDR0_HTTU_ACCESS_DIRTY`).
  package var httu: UInt8 { code(IDR0.httu, of: 0) }

  /// `httu` in words.
  package var httuDescription: String {
    switch httu {
    case 0: "no hardware table updates"
    case 1: "hardware access flag updates"
    case 2: "hardware access and dirty flag updates"
    default: "reserved code 3"
    }
  }

  /// IDR0.ATS, bit 10: PCIe ATS. QEMU `accel=on,ats=on` needs it on the host: "Host SMMUv3
  /// doesn't support Address Translation Services".
  package var ats: Bool { IDR0.ats.isSet(in: register(0)) }

  /// IDR0.ASID16, bit 12: 16-bit ASIDs (else 8-bit).
  package var asid16: Bool { IDR0.asid16.isSet(in: register(0)) }

  /// IDR0.VMID16, bit 18: 16-bit VMIDs (else 8-bit).
  package var vmid16: Bool { IDR0.vmid16.isSet(in: register(0)) }

  /// IDR0.CD2L, bit 19: 2-level context descriptor tables.
  package var twoLevelContextDescriptors: Bool { IDR0.cd2l.isSet(in: register(0)) }

  /// IDR0.TTENDIAN, bits 22:21: translation table endianness (0 mixed, 2 little-endian only,
  /// 3 big-endian only). QEMU `accel=on` needs host ≤ its own value (2): "Host SMMUv3
  /// doesn't support Little-endian translation table".
  package var ttEndian: UInt8 { code(IDR0.ttendian, of: 0) }

  /// `ttEndian` in words: "mixed", "little-endian only", "big-endian only".
  package var ttEndianDescription: String {
    switch ttEndian {
    case 0: "mixed"
    case 2: "little-endian only"
    case 3: "big-endian only"
    default: "reserved code 1"
    }
  }

  /// IDR0.STALL_MODEL, bits 25:24: 0 stall and terminate, 1 terminate only (no stall),
  /// 2 stall forced (Linux `IDR0_STALL_MODEL_STALL`/`_FORCE`; QEMU's own value is 1).
  package var stallModel: UInt8 { code(IDR0.stallModel, of: 0) }

  /// `stallModel` in words.
  package var stallModelDescription: String {
    switch stallModel {
    case 0: "stall and terminate models"
    case 1: "terminate model only (no stall)"
    case 2: "stall model forced"
    default: "reserved code 3"
    }
  }

  /// IDR0.TERM_MODEL, bit 26: 0 a terminated transaction may be completed RAZ/WI or
  /// aborted, 1 it is always aborted (QEMU's own value is 1).
  package var terminationModel: UInt8 { code(IDR0.termModel, of: 0) }

  /// IDR0.STLEVEL, bits 28:27: stream table format (0 linear, 1 2-level). QEMU `accel=on`
  /// needs it equal to its own (1): "Host SMMUv3 Stream Table format mismatch".
  package var streamTableLevel: UInt8 { code(IDR0.stlevel, of: 0) }

  /// `streamTableLevel` in words.
  package var streamTableLevelDescription: String {
    switch streamTableLevel {
    case 0: "linear stream table"
    case 1: "2-level stream table"
    default: "reserved code \(streamTableLevel)"
    }
  }

  // MARK: IDR1

  /// IDR1.SIDSIZE, bits 5:0: StreamID width in bits. QEMU `accel=on` needs host ≥ 16.
  package var sidSize: Int { Int(IDR1.sidsize.value(in: register(1))) }

  /// IDR1.SSIDSIZE, bits 10:6: SubstreamID (PASID) width in bits; 0 means no substreams.
  /// QEMU `accel=on` needs host ≥ its `ssidsize` property.
  package var ssidSize: Int { Int(IDR1.ssidsize.value(in: register(1))) }

  /// IDR1.PRIQS, bits 15:11: log2 of the maximum PRI queue entries.
  package var priQueueSizeLog2: Int { Int(IDR1.priqs.value(in: register(1))) }

  /// IDR1.EVENTQS, bits 20:16: log2 of the maximum event queue entries.
  package var eventQueueSizeLog2: Int { Int(IDR1.eventqs.value(in: register(1))) }

  /// IDR1.CMDQS, bits 25:21: log2 of the maximum command queue entries.
  package var commandQueueSizeLog2: Int { Int(IDR1.cmdqs.value(in: register(1))) }

  // MARK: IDR3

  /// IDR3.HAD, bit 2: hierarchical attribute disable.
  package var hierarchicalAttributeDisable: Bool { IDR3.had.isSet(in: register(3)) }

  /// IDR3.PBHA, bit 3: page-based hardware attributes.
  package var pageBasedHardwareAttributes: Bool { IDR3.pbha.isSet(in: register(3)) }

  /// IDR3.XNX, bit 4: stage 2 distinguishes EL0 and EL1 execute-never.
  package var executeNeverByExceptionLevel: Bool { IDR3.xnx.isSet(in: register(3)) }

  /// IDR3.PPS, bit 5: PRI responses carry the PASID of the request.
  package var priResponsePASID: Bool { IDR3.pps.isSet(in: register(3)) }

  /// IDR3.MPAM, bit 7: memory partitioning and monitoring.
  package var mpam: Bool { IDR3.mpam.isSet(in: register(3)) }

  /// IDR3.FWB, bit 8: stage 2 forced write-back.
  package var stage2ForcedWriteBack: Bool { IDR3.fwb.isSet(in: register(3)) }

  /// IDR3.STT, bit 9: small translation tables.
  package var smallTranslationTables: Bool { IDR3.stt.isSet(in: register(3)) }

  /// IDR3.RIL, bit 10: range-based TLB invalidation. QEMU `accel=on,ril=on` (the default)
  /// needs it on the host: "Host SMMUv3 doesn't support Range Invalidation".
  package var rangeInvalidation: Bool { IDR3.ril.isSet(in: register(3)) }

  /// IDR3.BBML, bits 12:11: break-before-make level (0, 1 or 2; QEMU's own value is 2).
  package var bbml: UInt8 { code(IDR3.bbml, of: 3) }

  // MARK: IDR5

  /// IDR5.OAS, bits 2:0: the raw output address size code (see `outputAddressBits`).
  /// QEMU `accel=on` needs host ≥ its own (4, or 5 with `oas=48`).
  package var oasCode: UInt8 { code(IDR5.oas, of: 5) }

  /// IDR5.OAS as bits: 0→32, 1→36, 2→40, 3→42, 4→44, 5→48, 6→52, 7→56.
  package var outputAddressBits: Int { Self.outputAddressBits(oasCode: oasCode) }

  /// The OAS code table (QEMU hw/arm/smmuv3-accel.c `smmuv3_oas_bits`, qemu @13b941aa); total
  /// over the 3-bit field.
  package static func outputAddressBits(oasCode: UInt8) -> Int {
    switch oasCode & 0b111 {
    case 0: 32
    case 1: 36
    case 2: 40
    case 3: 42
    case 4: 44
    case 5: 48
    case 6: 52
    default: 56
    }
  }

  /// IDR5.GRAN4K, bit 4: 4 KiB translation granule. QEMU `accel=on` needs it equal.
  package var granule4K: Bool { IDR5.gran4K.isSet(in: register(5)) }

  /// IDR5.GRAN16K, bit 5: 16 KiB translation granule. QEMU `accel=on` needs it equal.
  package var granule16K: Bool { IDR5.gran16K.isSet(in: register(5)) }

  /// IDR5.GRAN64K, bit 6: 64 KiB translation granule. QEMU `accel=on` needs it equal.
  package var granule64K: Bool { IDR5.gran64K.isSet(in: register(5)) }

  /// IDR5.VAX, bits 11:10: virtual address extension (0 48-bit, 1 52-bit stage 1 input
  /// addresses; Linux `IDR5_VAX_52_BIT`).
  package var vax: UInt8 { code(IDR5.vax, of: 5) }

  /// `vax` in words.
  package var vaxDescription: String {
    switch vax {
    case 0: "48-bit virtual addresses"
    case 1: "52-bit virtual addresses"
    default: "undefined code \(vax)"
    }
  }

  // MARK: IIDR

  /// IIDR.Implementer, bits 11:0: the implementer's JEP106 code (0x43b is Arm).
  package var implementer: UInt16 { UInt16(truncatingIfNeeded: IIDR.implementer.value(in: UInt64(iidr))) }

  /// IIDR.Revision, bits 15:12.
  package var revision: UInt8 { UInt8(truncatingIfNeeded: IIDR.revision.value(in: UInt64(iidr))) }

  /// IIDR.Variant, bits 19:16.
  package var variant: UInt8 { UInt8(truncatingIfNeeded: IIDR.variant.value(in: UInt64(iidr))) }

  /// IIDR.ProductID, bits 31:20.
  package var productID: UInt16 { UInt16(truncatingIfNeeded: IIDR.productID.value(in: UInt64(iidr))) }

  // MARK: Fields

  /// The registers `fields` decodes, in the order it lists them (IDR2, IDR4 and AIDR stay raw).
  package static let decodedRegisterNames = ["IDR0", "IDR1", "IDR3", "IDR5", "IIDR"]

  /// Every field hiodctl decodes — a selection of QEMU's IDR `FIELD`s that includes all those
  /// its accel check reads — plus IIDR, named "<register>.<field>" ("IDR0.STLEVEL"),
  /// grouped by register (IDR0, IDR1, IDR3, IDR5, IIDR) and in ascending bit order within each.
  package var fields: [DecodedField] {
    idr0Fields + idr1Fields + idr3Fields + idr5Fields + iidrFields
  }

  /// Bits of IDRn (0...5) that no field in `fields` covers; all of IDR2 and IDR4.
  package func undecodedBits(idr index: Int) -> UInt32 {
    let raw = register(index)
    let prefix = "IDR\(index)."
    let mask = fields.filter { $0.name.hasPrefix(prefix) }.reduce(UInt64(0)) { $0 | $1.mask }
    return UInt32(truncatingIfNeeded: raw & ~mask)
  }

  private var idr0Fields: [DecodedField] {
    let raw = register(0)
    return [
      .flag("IDR0.S2P", IDR0.s2p, in: raw, "stage 2 translation"),
      .flag("IDR0.S1P", IDR0.s1p, in: raw, "stage 1 translation"),
      DecodedField("IDR0.TTF", IDR0.ttf, in: raw, translationTableFormatDescription),
      .flag("IDR0.COHACC", IDR0.cohacc, in: raw, "coherent access"),
      .flag("IDR0.BTM", IDR0.btm, in: raw, "broadcast TLB maintenance"),
      DecodedField("IDR0.HTTU", IDR0.httu, in: raw, httuDescription),
      .flag("IDR0.ATS", IDR0.ats, in: raw, "PCIe ATS"),
      .flag("IDR0.ASID16", IDR0.asid16, in: raw, set: "16-bit ASIDs", clear: "8-bit ASIDs"),
      .flag("IDR0.VMID16", IDR0.vmid16, in: raw, set: "16-bit VMIDs", clear: "8-bit VMIDs"),
      .flag("IDR0.CD2L", IDR0.cd2l, in: raw, "2-level context descriptor tables"),
      DecodedField("IDR0.TTENDIAN", IDR0.ttendian, in: raw, "\(ttEndianDescription) translation tables"),
      DecodedField("IDR0.STALL_MODEL", IDR0.stallModel, in: raw, stallModelDescription),
      .flag(
        "IDR0.TERM_MODEL", IDR0.termModel, in: raw, set: "terminated transactions always abort",
        clear: "terminated transactions abort or complete RAZ/WI"),
      DecodedField("IDR0.STLEVEL", IDR0.stlevel, in: raw, streamTableLevelDescription),
    ]
  }

  private var idr1Fields: [DecodedField] {
    let raw = register(1)
    return [
      DecodedField("IDR1.SIDSIZE", IDR1.sidsize, in: raw, "\(sidSize)-bit StreamIDs"),
      DecodedField(
        "IDR1.SSIDSIZE", IDR1.ssidsize, in: raw,
        ssidSize == 0 ? "no SubstreamIDs (no PASID)" : "\(ssidSize)-bit SubstreamIDs"),
      DecodedField("IDR1.PRIQS", IDR1.priqs, in: raw, "PRI queue up to 2^\(priQueueSizeLog2) entries"),
      DecodedField(
        "IDR1.EVENTQS", IDR1.eventqs, in: raw, "event queue up to 2^\(eventQueueSizeLog2) entries"),
      DecodedField(
        "IDR1.CMDQS", IDR1.cmdqs, in: raw, "command queue up to 2^\(commandQueueSizeLog2) entries"),
    ]
  }

  private var idr3Fields: [DecodedField] {
    let raw = register(3)
    return [
      .flag("IDR3.HAD", IDR3.had, in: raw, "hierarchical attribute disable"),
      .flag("IDR3.PBHA", IDR3.pbha, in: raw, "page-based hardware attributes"),
      .flag("IDR3.XNX", IDR3.xnx, in: raw, "EL0/EL1 execute-never at stage 2"),
      .flag("IDR3.PPS", IDR3.pps, in: raw, "PASID in PRI responses"),
      .flag("IDR3.MPAM", IDR3.mpam, in: raw, "MPAM"),
      .flag("IDR3.FWB", IDR3.fwb, in: raw, "stage 2 forced write-back"),
      .flag("IDR3.STT", IDR3.stt, in: raw, "small translation tables"),
      .flag("IDR3.RIL", IDR3.ril, in: raw, "range invalidation"),
      DecodedField("IDR3.BBML", IDR3.bbml, in: raw, "break-before-make level \(bbml)"),
    ]
  }

  private var idr5Fields: [DecodedField] {
    let raw = register(5)
    return [
      DecodedField("IDR5.OAS", IDR5.oas, in: raw, "\(outputAddressBits)-bit output addresses"),
      .flag("IDR5.GRAN4K", IDR5.gran4K, in: raw, "4 KiB granule"),
      .flag("IDR5.GRAN16K", IDR5.gran16K, in: raw, "16 KiB granule"),
      .flag("IDR5.GRAN64K", IDR5.gran64K, in: raw, "64 KiB granule"),
      DecodedField("IDR5.VAX", IDR5.vax, in: raw, vaxDescription),
    ]
  }

  private var iidrFields: [DecodedField] {
    let raw = UInt64(iidr)
    return [
      DecodedField(
        "IIDR.IMPLEMENTER", IIDR.implementer, in: raw,
        "JEP106 implementer \(UInt64(implementer).shortHex)" + (implementer == 0x43b ? " (Arm)" : "")),
      DecodedField("IIDR.REVISION", IIDR.revision, in: raw, "revision \(revision)"),
      DecodedField("IIDR.VARIANT", IIDR.variant, in: raw, "variant \(variant)"),
      DecodedField("IIDR.PRODUCTID", IIDR.productID, in: raw, "product \(UInt64(productID).shortHex)"),
    ]
  }
}
