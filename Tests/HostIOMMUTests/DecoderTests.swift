// hiodctl tests — VT-d CAP/ECAP, SMMUv3 IDR and AMD EFR decoders, on raw register values.
// SPDX-License-Identifier: GPL-2.0-or-later
//
// Expected values are worked out by hand from the field positions of Linux
// drivers/iommu/intel/iommu.h (VT-d `cap_*`/`ecap_*`), QEMU hw/arm/smmuv3-internal.h (SMMUv3
// IDR `FIELD`s) and Linux drivers/iommu/amd/amd_iommu_types.h (AMD `FEATURE_*`) (the
// arithmetic is in the comments), or built bit by bit from those positions, so a test failure
// points at either the decoder or those positions — never at a value copied from the
// decoder's own output.

import Dispatch
import HostIOMMU
import Testing

/// `value` placed at `lowBit`: the tests build registers from field positions, not hex.
private func put(_ value: UInt64, at lowBit: Int) -> UInt64 {
  value << UInt64(lowBit)
}

private func put32(_ value: UInt32, at lowBit: Int) -> UInt32 {
  value << UInt32(lowBit)
}

/// The raw field values by name, for comparing a whole `fields` list at once.
private func values(_ fields: [DecodedField]) -> [String: UInt64] {
  Dictionary(fields.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
}

/// Deterministic pseudo-random registers (SplitMix64), so "any value decodes" is tested on
/// more than hand-picked patterns without making failures irreproducible.
private func pseudoRandomValues(count: Int, seed: UInt64) -> [UInt64] {
  var state = seed
  return (0..<count).map { _ in
    state &+= 0x9e37_79b9_7f4a_7c15
    var z = state
    z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
    z = (z ^ (z >> 27)) &* 0x94d4_9bb1_3311_49eb
    return z ^ (z >> 31)
  }
}

/// Registers every decoder must survive: nothing set, everything set, alternating
/// patterns, the rig's values, and pseudo-random ones.
private let stressValues: [UInt64] =
  [0, .max, 0x5555_5555_5555_5555, 0xaaaa_aaaa_aaaa_aaaa, 0x00d2_008c_2226_0286, 0x0000_4800_80f0_0f4a]
  + pseudoRandomValues(count: 24, seed: 0x6869_6f64)

/// Checks the shape every decoder promises: unique `bits` within a register, ascending bit
/// order, fields that do not overlap, and `fields` plus the undecoded bits giving back the
/// raw value exactly.
private func expectWellFormed(
  _ fields: [DecodedField], raw: UInt64, undecoded: UInt64,
  sourceLocation: SourceLocation = #_sourceLocation
) {
  #expect(
    Set(fields.map(\.bits)).count == fields.count, "duplicate bit positions", sourceLocation: sourceLocation)
  #expect(Set(fields.map(\.name)).count == fields.count, "duplicate names", sourceLocation: sourceLocation)
  for (previous, next) in zip(fields, fields.dropFirst()) {
    #expect(
      previous.highBit < next.lowBit,
      "\(previous.name) [\(previous.bits)] before \(next.name) [\(next.bits)]",
      sourceLocation: sourceLocation)
  }
  for field in fields {
    #expect(field.lowBit <= field.highBit && field.highBit < 64, sourceLocation: sourceLocation)
    let spelled = field.lowBit == field.highBit ? "\(field.lowBit)" : "\(field.highBit):\(field.lowBit)"
    #expect(field.bits == spelled, sourceLocation: sourceLocation)
    #expect(!field.meaning.isEmpty, sourceLocation: sourceLocation)
  }
  let rebuilt = fields.reduce(undecoded) { $0 | $1.valueInPlace }
  #expect(
    rebuilt == raw, "fields + undecoded bits do not rebuild the register", sourceLocation: sourceLocation)
}

/// Groups "REG.FIELD" names by register, keeping order.
private func byRegister(_ fields: [DecodedField]) -> [(register: String, fields: [DecodedField])] {
  var groups: [(register: String, fields: [DecodedField])] = []
  for field in fields {
    let register = String(field.name.prefix { $0 != "." })
    if groups.last?.register == register {
      groups[groups.count - 1].fields.append(field)
    } else {
      groups.append((register, [field]))
    }
  }
  return groups
}

// MARK: - Intel VT-d

/// One CAP_REG value and what every accessor must say about it.
struct VTdCapabilityCase: Sendable, CustomTestStringConvertible {
  let label: String
  let raw: UInt64
  let nd: UInt8
  let numberOfDomains: Int
  let cachingMode: Bool
  let sagaw: UInt8
  let widths: [Int]
  let mgaw: Int
  let faultRecordingOffset: Int
  let twoMiB: Bool
  let oneGiB: Bool
  let pageSelectiveInvalidation: Bool
  let faultRecordingRegisters: Int
  let maxAddressMaskValue: Int
  let drain: Bool  // DWD and DRD together
  let firstStage1GiBPages: Bool
  let postedInterrupts: Bool
  let firstStage5LevelPaging: Bool
  let enhancedSetPointers: Bool  // ESIRTPS and ESRTPS together
  /// Every field value by name; names not listed must be 0.
  let nonZeroFields: [String: UInt64]

  var testDescription: String { label }
}

/// One ECAP_REG value and what every accessor must say about it.
struct VTdExtendedCapabilityCase: Sendable, CustomTestStringConvertible {
  let label: String
  let raw: UInt64
  let set: Set<String>  // the one-bit fields that are set
  let iotlbRegisterOffset: Int
  let maxHandleMaskValue: Int
  let pss: UInt8
  let registersAllowNesting: Bool
  let registersAllowDirtyTracking: Bool

  var testDescription: String { label }
}

struct VTdDecoderTests {
  // QEMU 7.2's emulated VT-d on the project's VM rig (vm-rig.md; Tests/vm/scenarios).
  //
  // CAP 0x00d2008c22260286, aw-bits=39; bytes from bit 63 down: 00 d2 00 8c 22 26 02 86.
  //   0x86 = 1000_0110 (bits 7..0): ND(2:0) = 0b110 = 6 → 2^(4+2·6) = 65536 domain ids;
  //          AFL, RWBF, PLMR, PHMR (3..6) = 0; CM(7) = 1 → caching mode on.
  //   0x02 (15..8): SAGAW(12:8) = 0b00010 → bit 1 only → 39-bit, 3-level.
  //   0x26 (23..16) = 0010_0110: MGAW(21:16) = 0x26 & 0x3f = 38 → 38 + 1 = 39 bits;
  //          ZLR(22) = 0, ISOCH(23) = 0.
  //   0x22 (31..24), 0x8c (39..32) = 1000_1100: FRO(33:24) = 0x22 + (0b00 << 8) = 34 →
  //          offset 34·16 = 0x220; SLLPS(37:34) = (0x8c >> 2) & 0xf = 0b0011 → 2 MiB and
  //          1 GiB; bit 38 = 0; PSI(39) = 1.
  //   0x00 (47..40): NFR = 0 → 1 fault recording register.
  //   0xd2 (55..48) = 1101_0010: MAMV(53:48) = 0x12 = 18; DWD(54) = 1; DRD(55) = 1.
  //   0x00 (63..56): FS1GP, PI, FS5LP, ECMDS, ESIRTPS, ESRTPS all 0.
  // CAP 0x00d2008c222f0686, aw-bits=48 differs in two bytes:
  //   0x06 (15..8): SAGAW = 0b00110 → bits 1, 2 → 39-bit and 48-bit.
  //   0x2f (23..16): MGAW = 0x2f & 0x3f = 47 → 48 bits.
  static let capabilityCases: [VTdCapabilityCase] = [
    VTdCapabilityCase(
      label: "QEMU intel-iommu aw-bits=39 (rig)", raw: 0x00d2_008c_2226_0286,
      nd: 6, numberOfDomains: 65536, cachingMode: true, sagaw: 0b00010, widths: [39], mgaw: 39,
      faultRecordingOffset: 0x220, twoMiB: true, oneGiB: true, pageSelectiveInvalidation: true,
      faultRecordingRegisters: 1, maxAddressMaskValue: 18, drain: true, firstStage1GiBPages: false,
      postedInterrupts: false, firstStage5LevelPaging: false, enhancedSetPointers: false,
      nonZeroFields: [
        "ND": 6, "CM": 1, "SAGAW": 2, "MGAW": 38, "FRO": 0x22, "SLLPS": 3, "PSI": 1, "MAMV": 18,
        "DWD": 1, "DRD": 1,
      ]),
    VTdCapabilityCase(
      label: "QEMU intel-iommu aw-bits=48 (rig)", raw: 0x00d2_008c_222f_0686,
      nd: 6, numberOfDomains: 65536, cachingMode: true, sagaw: 0b00110, widths: [39, 48], mgaw: 48,
      faultRecordingOffset: 0x220, twoMiB: true, oneGiB: true, pageSelectiveInvalidation: true,
      faultRecordingRegisters: 1, maxAddressMaskValue: 18, drain: true, firstStage1GiBPages: false,
      postedInterrupts: false, firstStage5LevelPaging: false, enhancedSetPointers: false,
      nonZeroFields: [
        "ND": 6, "CM": 1, "SAGAW": 6, "MGAW": 47, "FRO": 0x22, "SLLPS": 3, "PSI": 1, "MAMV": 18,
        "DWD": 1, "DRD": 1,
      ]),
    // A server-class unit built from the iommu.h `cap_*` positions: 48/57-bit, 5-level capable,
    // FS1GP (so QEMU x-flts=on,fs1gp=on accepts it), posted interrupts, no caching mode.
    VTdCapabilityCase(
      label: "hardware-like, FS1GP and 5-level",
      raw: put(6, at: 0) | put(0b01100, at: 8) | put(56, at: 16) | put(0x40, at: 24)
        | put(0b0011, at: 34) | put(1, at: 39) | put(7, at: 40) | put(0x12, at: 48) | put(1, at: 54)
        | put(1, at: 55) | put(1, at: 56) | put(1, at: 59) | put(1, at: 60) | put(1, at: 62)
        | put(1, at: 63),
      nd: 6, numberOfDomains: 65536, cachingMode: false, sagaw: 0b01100, widths: [48, 57], mgaw: 57,
      faultRecordingOffset: 0x400, twoMiB: true, oneGiB: true, pageSelectiveInvalidation: true,
      faultRecordingRegisters: 8, maxAddressMaskValue: 18, drain: true, firstStage1GiBPages: true,
      postedInterrupts: true, firstStage5LevelPaging: true, enhancedSetPointers: true,
      nonZeroFields: [
        "ND": 6, "SAGAW": 0b01100, "MGAW": 56, "FRO": 0x40, "SLLPS": 3, "PSI": 1, "NFR": 7,
        "MAMV": 18, "DWD": 1, "DRD": 1, "FS1GP": 1, "PI": 1, "FS5LP": 1, "ESIRTPS": 1, "ESRTPS": 1,
      ]),
  ]

  @Test(arguments: capabilityCases)
  func decodesCapability(_ expected: VTdCapabilityCase) {
    let cap = VTdCapability(expected.raw)
    #expect(cap.raw == expected.raw)
    #expect(cap.nd == expected.nd)
    #expect(cap.numberOfDomains == expected.numberOfDomains)
    #expect(cap.cachingMode == expected.cachingMode)
    #expect(cap.sagaw == expected.sagaw)
    #expect(cap.supportedAddressWidths == expected.widths)
    #expect(cap.mgaw == expected.mgaw)
    #expect(cap.faultRecordingOffset == expected.faultRecordingOffset)
    #expect(cap.secondStageLargePages.twoMiB == expected.twoMiB)
    #expect(cap.secondStageLargePages.oneGiB == expected.oneGiB)
    #expect(cap.pageSelectiveInvalidation == expected.pageSelectiveInvalidation)
    #expect(cap.numberOfFaultRecordingRegisters == expected.faultRecordingRegisters)
    #expect(cap.maxAddressMaskValue == expected.maxAddressMaskValue)
    #expect(cap.writeDraining == expected.drain && cap.readDraining == expected.drain)
    #expect(cap.firstStage1GiBPages == expected.firstStage1GiBPages)
    #expect(cap.postedInterrupts == expected.postedInterrupts)
    #expect(cap.firstStage5LevelPaging == expected.firstStage5LevelPaging)
    #expect(cap.enhancedSetInterruptRemapTablePointer == expected.enhancedSetPointers)
    #expect(cap.enhancedSetRootTablePointer == expected.enhancedSetPointers)
    // None of the three rows sets these.
    #expect(!cap.advancedFaultLogging && !cap.requiredWriteBufferFlushing)
    #expect(!cap.protectedLowMemoryRegion && !cap.protectedHighMemoryRegion)
    #expect(!cap.zeroLengthRead && !cap.isochrony && !cap.enhancedCommand)

    let fields = values(cap.fields)
    for (name, value) in fields {
      #expect(value == expected.nonZeroFields[name, default: 0], "\(name)")
    }
    #expect(Set(expected.nonZeroFields.keys).isSubset(of: fields.keys))
    #expect(cap.undecodedBits == 0)
  }

  @Test func capabilityMeaningsReadAsTheSpecSays() throws {
    let cap = VTdCapability(0x00d2_008c_2226_0286)
    let byName = Dictionary(uniqueKeysWithValues: cap.fields.map { ($0.name, $0) })
    #expect(byName["MGAW"]?.meaning == "39-bit max guest address width")
    #expect(byName["MGAW"]?.bits == "21:16")
    #expect(byName["SAGAW"]?.meaning == "39-bit (3-level)")
    #expect(byName["CM"]?.meaning.hasPrefix("caching mode on") == true)
    #expect(byName["FS1GP"]?.meaning == "first-stage 1 GiB pages not supported")
    #expect(byName["FS1GP"]?.bits == "56")
    #expect(byName["FRO"]?.meaning == "fault recording registers at offset 0x220")
    #expect(byName["SLLPS"]?.meaning == "2 MiB and 1 GiB second-stage pages")
    #expect(
      VTdCapability(0x00d2_008c_222f_0686).fields.first { $0.name == "SAGAW" }?.meaning
        == "39-bit (3-level), 48-bit (4-level)")
    let noSAGAW = VTdCapability(0).fields.first { $0.name == "SAGAW" }
    #expect(noSAGAW?.meaning.hasPrefix("no second-stage") == true)
  }

  // ECAP 0x0000480080f00f4a (rig, x-scalable-mode=on); bytes from bit 63 down:
  // 00 00 48 00 80 f0 0f 4a.
  //   0x4a = 0100_1010 (7..0): C(0) = 0, QI(1) = 1, DT(2) = 0, IR(3) = 1, EIM(4) = 0,
  //          bit 5 = 0, PT(6) = 1, SC(7) = 0.
  //   0x0f (15..8), 0xf0 (23..16) = 1111_0000: IRO(17:8) = 0x0f + (0b00 << 8) = 15 →
  //          offset 15·16 = 0xf0; MHMV(23:20) = 0xf.
  //   0x80 (31..24) = 1000_0000: MTS(25) = 0, NEST(26) = 0, DIS(27) = 0, bit 28 = 0,
  //          PRS(29) = 0, ERS(30) = 0, SRS(31) = 1.
  //   0x00 (39..32): NWFS(33) = 0, EAFS(34) = 0, PSS(39:35) = 0.
  //   0x48 (47..40) = 0100_1000: PASID(40) = 0, DIT = 0, PDS = 0, SMTS(43) = 1, VCS = 0,
  //          SLADS(45) = 0, SSTS(46) = 1, FSTS(47) = 0.
  //   0x00, 0x00 (63..48): SMPWC, RPS, PMS = 0.
  // So: IR set, scalable mode with second-stage translation only; no PASID, no first stage,
  // and NEST clear — which is why the rig's guest kernel refused a nesting-parent HWPT.
  // That is QEMU's "scalable without x-flts → SMTS|SRS|SSTS". The same unit in legacy mode
  // (rig scenario intel-aw39) shows 0xf00f4a: the same value minus bits 31, 43 and 46.
  static let extendedCapabilityCases: [VTdExtendedCapabilityCase] = [
    VTdExtendedCapabilityCase(
      label: "QEMU intel-iommu x-scalable-mode=on (rig)", raw: 0x0000_4800_80f0_0f4a,
      set: ["QI", "IR", "PT", "SRS", "SMTS", "SSTS"], iotlbRegisterOffset: 0xf0, maxHandleMaskValue: 15,
      pss: 0, registersAllowNesting: false, registersAllowDirtyTracking: false),
    VTdExtendedCapabilityCase(
      label: "QEMU intel-iommu legacy mode (rig)", raw: 0x0000_0000_00f0_0f4a,
      set: ["QI", "IR", "PT"], iotlbRegisterOffset: 0xf0, maxHandleMaskValue: 15,
      pss: 0, registersAllowNesting: false, registersAllowDirtyTracking: false),
    // A scalable-mode unit that can be a nesting parent, built from the iommu.h `ecap_*` positions:
    // NEST, SMTS, FSTS (FLTS), SSTS (SLTS), PASID with PSS 19 (20-bit PASIDs), dirty tracking.
    VTdExtendedCapabilityCase(
      label: "hardware-like, nesting and dirty tracking",
      raw: put(1, at: 1) | put(1, at: 2) | put(1, at: 3) | put(1, at: 4) | put(1, at: 6) | put(1, at: 7)
        | put(0x10, at: 8) | put(0xf, at: 20) | put(1, at: 26) | put(1, at: 29) | put(1, at: 31)
        | put(1, at: 33) | put(1, at: 34) | put(19, at: 35) | put(1, at: 40) | put(1, at: 41)
        | put(1, at: 42) | put(1, at: 43) | put(1, at: 45) | put(1, at: 46) | put(1, at: 47)
        | put(1, at: 48) | put(1, at: 49) | put(1, at: 51),
      set: [
        "QI", "DT", "IR", "EIM", "PT", "SC", "NEST", "PRS", "SRS", "NWFS", "EAFS", "PASID", "DIT", "PDS",
        "SMTS", "SLADS", "SSTS", "FSTS", "SMPWC", "RPS", "PMS",
      ],
      iotlbRegisterOffset: 0x100, maxHandleMaskValue: 15, pss: 19,
      registersAllowNesting: true, registersAllowDirtyTracking: true),
  ]

  @Test(arguments: extendedCapabilityCases)
  func decodesExtendedCapability(_ expected: VTdExtendedCapabilityCase) {
    let ecap = VTdExtendedCapability(expected.raw)
    let accessors: [(name: String, value: Bool)] = [
      ("C", ecap.pageWalkCoherency), ("QI", ecap.queuedInvalidation), ("DT", ecap.deviceTLB),
      ("IR", ecap.interruptRemapping), ("EIM", ecap.extendedInterruptMode), ("PT", ecap.passThrough),
      ("SC", ecap.snoopControl), ("MTS", ecap.memoryTypeSupport), ("NEST", ecap.nestedTranslation),
      ("DIS", ecap.deferredInvalidate), ("LEGACY_PASID", ecap.legacyPASID), ("PRS", ecap.pageRequests),
      ("ERS", ecap.executeRequests), ("SRS", ecap.supervisorRequests), ("NWFS", ecap.noWriteFlag),
      ("EAFS", ecap.extendedAccessedFlag), ("PASID", ecap.pasid),
      ("DIT", ecap.deviceTLBInvalidationThrottling), ("PDS", ecap.pageRequestDrain),
      ("SMTS", ecap.scalableMode), ("VCS", ecap.virtualCommand), ("SLADS", ecap.secondStageAccessDirty),
      ("SSTS", ecap.secondStageTranslation), ("FSTS", ecap.firstStageTranslation),
      ("SMPWC", ecap.pageWalkCoherencyScalable), ("RPS", ecap.ridPASID), ("PMS", ecap.performanceMonitoring),
    ]
    for accessor in accessors {
      #expect(accessor.value == expected.set.contains(accessor.name), "\(accessor.name)")
    }
    #expect(ecap.iotlbRegisterOffset == expected.iotlbRegisterOffset)
    #expect(ecap.maxHandleMaskValue == expected.maxHandleMaskValue)
    #expect(ecap.pss == expected.pss)
    #expect(ecap.pasidWidth == Int(expected.pss) + 1)
    #expect(ecap.registersAllowNesting == expected.registersAllowNesting)
    #expect(ecap.registersAllowDirtyTracking == expected.registersAllowDirtyTracking)

    // The one-bit entries of `fields` agree with the accessors.
    for field in ecap.fields where field.lowBit == field.highBit {
      #expect(field.value == (expected.set.contains(field.name) ? 1 : 0), "\(field.name)")
    }
    #expect(ecap.undecodedBits == 0)
  }

  @Test func extendedCapabilityMeanings() {
    let ecap = VTdExtendedCapability(0x0000_4800_80f0_0f4a)
    let rig = Dictionary(uniqueKeysWithValues: ecap.fields.map { ($0.name, $0) })
    #expect(rig["NEST"]?.bits == "26")
    #expect(rig["NEST"]?.meaning == "nested translation not supported")
    #expect(rig["SMTS"]?.meaning == "scalable mode supported")
    #expect(rig["IRO"]?.meaning == "IOTLB registers at offset 0xf0")
    #expect(rig["PSS"]?.bits == "39:35")
    let wide = VTdExtendedCapability(put(19, at: 35) | put(1, at: 40))
    #expect(wide.fields.first { $0.name == "PSS" }?.meaning == "20-bit PASIDs")
  }

  /// Every field Linux's iommu.h has a `cap_*` or `ecap_*` macro for, in bit order — a missing
  /// row in the decoder shows here.
  @Test func listsEveryDigestField() {
    #expect(
      VTdCapability(0).fields.map(\.name) == [
        "ND", "AFL", "RWBF", "PLMR", "PHMR", "CM", "SAGAW", "MGAW", "ZLR", "ISOCH", "FRO", "SLLPS", "PSI",
        "NFR", "MAMV", "DWD", "DRD", "FS1GP", "PI", "FS5LP", "ECMDS", "ESIRTPS", "ESRTPS",
      ])
    #expect(
      VTdExtendedCapability(0).fields.map(\.name) == [
        "C", "QI", "DT", "IR", "EIM", "PT", "SC", "IRO", "MHMV", "MTS", "NEST", "DIS", "LEGACY_PASID",
        "PRS", "ERS", "SRS", "NWFS", "EAFS", "PSS", "PASID", "DIT", "PDS", "SMTS", "VCS", "SLADS", "SSTS",
        "FSTS", "SMPWC", "RPS", "PMS",
      ])
  }

  /// SAGAW by Linux's `agaw_to_width`: bit n ⇒ min(30 + 9n, 64), including the reserved bits.
  static let sagawCases: [(sagaw: UInt64, widths: [Int])] = [
    (0b00000, []), (0b00001, [30]), (0b00010, [39]), (0b00100, [48]), (0b01000, [57]),
    (0b10000, [64]), (0b01110, [39, 48, 57]), (0b11111, [30, 39, 48, 57, 64]),
  ]

  @Test(arguments: sagawCases)
  func sagawWidths(sagaw: UInt64, widths: [Int]) {
    #expect(VTdCapability(put(sagaw, at: 8)).supportedAddressWidths == widths)
  }

  @Test(arguments: [
    ("d2008c22260286\n", UInt64(0x00d2_008c_2226_0286)),
    ("480080f00f4a\n", 0x0000_4800_80f0_0f4a),
    ("0\n", 0),
    ("ffffffffffffffff", .max),
    ("0xf00f4a", 0xf0_0f4a),
    ("  D2008C22260286  \n", 0x00d2_008c_2226_0286),
  ])
  func parsesSysfsRegisters(text: String, value: UInt64) {
    #expect(VTdCapability.parseSysfsRegister(text) == value)
    #expect(VTdCapability(sysfsText: text)?.raw == value)
    #expect(VTdExtendedCapability(sysfsText: text)?.raw == value)
  }

  @Test(arguments: ["", "\n", "not-hex", "0x", "1ffffffffffffffff", "12 34", "-1", "+1", "1:2"])
  func rejectsMalformedSysfsRegisters(text: String) {
    #expect(VTdCapability.parseSysfsRegister(text) == nil)
    #expect(VTdCapability(sysfsText: text) == nil)
    #expect(VTdExtendedCapability(sysfsText: text) == nil)
  }

  @Test(arguments: stressValues)
  func decodingIsTotalAndWellFormed(raw: UInt64) {
    let cap = VTdCapability(raw)
    expectWellFormed(cap.fields, raw: raw, undecoded: cap.undecodedBits)
    #expect((1...64).contains(cap.mgaw))
    #expect(cap.supportedAddressWidths.allSatisfy { (30...64).contains($0) })
    #expect(cap.numberOfDomains >= 16)
    let ecap = VTdExtendedCapability(raw)
    expectWellFormed(ecap.fields, raw: raw, undecoded: ecap.undecodedBits)
    #expect((1...32).contains(ecap.pasidWidth))
  }

  @Test func allOnesDecodesToTheFieldMaxima() {
    let cap = VTdCapability(.max)
    #expect(cap.nd == 7 && cap.numberOfDomains == 1 << 18)
    #expect(cap.mgaw == 64)
    #expect(cap.supportedAddressWidths == [30, 39, 48, 57, 64])
    #expect(cap.faultRecordingOffset == 0x3ff * 16)
    #expect(cap.numberOfFaultRecordingRegisters == 256)
    #expect(cap.sllps == 0xf)
    // Bits 15:13, 38 and 58:57 have no `cap_*` macro in Linux's iommu.h.
    #expect(cap.undecodedBits == put(0b111, at: 13) | put(1, at: 38) | put(0b11, at: 57))
    let ecap = VTdExtendedCapability(.max)
    #expect(ecap.pasidWidth == 32)
    #expect(ecap.iotlbRegisterOffset == 0x3ff * 16)
    // Bits 5, 19:18, 24, 32, 50 and 63:52 have no `ecap_*` macro in Linux's iommu.h.
    #expect(
      ecap.undecodedBits
        == put(1, at: 5) | put(0b11, at: 18) | put(1, at: 24) | put(1, at: 32) | put(1, at: 50)
        | put(0xfff, at: 52))
  }
}

// MARK: - Arm SMMUv3

/// One set of SMMUv3 ID registers and what every accessor must say about them.
struct SMMUv3Case: Sendable, CustomTestStringConvertible {
  let label: String
  let idr: [UInt32]
  let iidr: UInt32
  // IDR0
  let stage1: Bool, stage2: Bool
  let ttf: UInt8, ttfDescription: String
  let coherentAccess: Bool, btm: Bool
  let httu: UInt8
  let ats: Bool, asid16: Bool, vmid16: Bool, cd2l: Bool
  let ttEndian: UInt8, ttEndianDescription: String
  let stallModel: UInt8, terminationModel: UInt8
  let streamTableLevel: UInt8, streamTableDescription: String
  // IDR1
  let sidSize: Int, ssidSize: Int, priqs: Int, eventqs: Int, cmdqs: Int
  // IDR3
  let had: Bool, rangeInvalidation: Bool, bbml: UInt8
  let otherIDR3Flags: Bool  // PBHA, XNX, PPS, MPAM, FWB, STT together
  // IDR5
  let oasCode: UInt8, outputAddressBits: Int
  let granule4K: Bool, granule16K: Bool, granule64K: Bool
  let vax: UInt8
  // IIDR
  let implementer: UInt16, productID: UInt16

  var testDescription: String { label }
}

struct SMMUv3DecoderTests {
  // (a) QEMU's own vSMMU registers (QEMU hw/arm/smmuv3.c smmuv3_init_regs), with the
  // property defaults ssidsize=0, ril=on, ats=off, oas=44:
  //   IDR0: S1P(1)=1, TTF(3:2)=2, COHACC(4)=1, ASID16(12)=1, VMID16(18)=1, TTENDIAN(22:21)=2,
  //         STALL_MODEL(25:24)=1, TERM_MODEL(26)=1, STLEVEL(28:27)=1
  //         = 0x2 + 0x8 + 0x10 + 0x1000 + 0x40000 + 0x400000 + 0x1000000 + 0x4000000
  //           + 0x8000000 = 0x0d44101a
  //   IDR1: SIDSIZE(5:0)=16, SSIDSIZE(10:6)=0, EVENTQS(20:16)=19, CMDQS(25:21)=19
  //   IDR3: HAD(2)=1, RIL(10)=1, BBML(12:11)=2
  //   IDR5: OAS(2:0)=4 (44 bits), GRAN4K(4)=GRAN16K(5)=GRAN64K(6)=1
  static let qemuDefaults = SMMUv3Case(
    label: "QEMU arm-smmuv3 defaults",
    idr: [
      put32(1, at: 1) | put32(2, at: 2) | put32(1, at: 4) | put32(1, at: 12) | put32(1, at: 18)
        | put32(2, at: 21) | put32(1, at: 24) | put32(1, at: 26) | put32(1, at: 27),
      put32(16, at: 0) | put32(19, at: 16) | put32(19, at: 21),
      0,
      put32(1, at: 2) | put32(1, at: 10) | put32(2, at: 11),
      0,
      put32(4, at: 0) | put32(1, at: 4) | put32(1, at: 5) | put32(1, at: 6),
    ],
    iidr: 0,
    stage1: true, stage2: false, ttf: 2, ttfDescription: "AArch64 tables", coherentAccess: true, btm: false,
    httu: 0, ats: false, asid16: true, vmid16: true, cd2l: false,
    ttEndian: 2, ttEndianDescription: "little-endian only", stallModel: 1, terminationModel: 1,
    streamTableLevel: 1, streamTableDescription: "2-level stream table",
    sidSize: 16, ssidSize: 0, priqs: 0, eventqs: 19, cmdqs: 19,
    had: true, rangeInvalidation: true, bbml: 2, otherIDR3Flags: false,
    oasCode: 4, outputAddressBits: 44, granule4K: true, granule16K: true, granule64K: true, vax: 0,
    implementer: 0, productID: 0)

  // (b) A host that QEMU accel=on would refuse on several counts: linear stream table
  // (STLEVEL 0 ≠ 1), big-endian-only tables (TTENDIAN 3 > 2), no 64K granule (≠ QEMU's 1) —
  // but RIL=1 and OAS=5 (48 bits) would pass. The other fields are chosen to exercise the
  // remaining accessors: both stages, both table formats, HTTU access+dirty, ATS, CD2L,
  // BTM, 20-bit SIDs and SSIDs, PRI queue, every other IDR3 flag, 52-bit VA, Arm IIDR
  // with an arbitrary product number.
  static let mismatchedHost = SMMUv3Case(
    label: "host: STLEVEL=0 TTENDIAN=3 OAS=5 GRAN64K=0 RIL=1",
    idr: [
      put32(1, at: 0) | put32(1, at: 1) | put32(3, at: 2) | put32(1, at: 4) | put32(1, at: 5)
        | put32(2, at: 6) | put32(1, at: 10) | put32(1, at: 12) | put32(1, at: 18) | put32(1, at: 19)
        | put32(3, at: 21) | put32(0, at: 24) | put32(0, at: 26) | put32(0, at: 27),
      put32(20, at: 0) | put32(20, at: 6) | put32(8, at: 11) | put32(15, at: 16) | put32(12, at: 21),
      0xdead_beef,  // IDR2: not decoded, must not disturb anything
      put32(1, at: 3) | put32(1, at: 4) | put32(1, at: 5) | put32(1, at: 7) | put32(1, at: 8)
        | put32(1, at: 9) | put32(1, at: 10) | put32(1, at: 11),
      0xffff_ffff,  // IDR4: likewise
      put32(5, at: 0) | put32(1, at: 4) | put32(1, at: 5) | put32(0, at: 6) | put32(1, at: 10),
    ],
    iidr: put32(0x43b, at: 0) | put32(2, at: 12) | put32(1, at: 16) | put32(0x4a1, at: 20),
    stage1: true, stage2: true, ttf: 3, ttfDescription: "AArch32 and AArch64 tables", coherentAccess: true,
    btm: true, httu: 2, ats: true, asid16: true, vmid16: true, cd2l: true,
    ttEndian: 3, ttEndianDescription: "big-endian only", stallModel: 0, terminationModel: 0,
    streamTableLevel: 0, streamTableDescription: "linear stream table",
    sidSize: 20, ssidSize: 20, priqs: 8, eventqs: 15, cmdqs: 12,
    had: false, rangeInvalidation: true, bbml: 1, otherIDR3Flags: true,
    oasCode: 5, outputAddressBits: 48, granule4K: true, granule16K: true, granule64K: false, vax: 1,
    implementer: 0x43b, productID: 0x4a1)

  @Test(arguments: [qemuDefaults, mismatchedHost])
  func decodesIDRs(_ expected: SMMUv3Case) {
    let smmu = SMMUv3Registers(idr: expected.idr, iidr: expected.iidr, aidr: 0)
    #expect(smmu.stage1 == expected.stage1)
    #expect(smmu.stage2 == expected.stage2)
    #expect(smmu.translationTableFormat == expected.ttf)
    #expect(smmu.translationTableFormatDescription == expected.ttfDescription)
    #expect(smmu.coherentAccess == expected.coherentAccess)
    #expect(smmu.broadcastTLBMaintenance == expected.btm)
    #expect(smmu.httu == expected.httu)
    #expect(smmu.ats == expected.ats)
    #expect(smmu.asid16 == expected.asid16)
    #expect(smmu.vmid16 == expected.vmid16)
    #expect(smmu.twoLevelContextDescriptors == expected.cd2l)
    #expect(smmu.ttEndian == expected.ttEndian)
    #expect(smmu.ttEndianDescription == expected.ttEndianDescription)
    #expect(smmu.stallModel == expected.stallModel)
    #expect(smmu.terminationModel == expected.terminationModel)
    #expect(smmu.streamTableLevel == expected.streamTableLevel)
    #expect(smmu.streamTableLevelDescription == expected.streamTableDescription)
    #expect(smmu.sidSize == expected.sidSize)
    #expect(smmu.ssidSize == expected.ssidSize)
    #expect(smmu.priQueueSizeLog2 == expected.priqs)
    #expect(smmu.eventQueueSizeLog2 == expected.eventqs)
    #expect(smmu.commandQueueSizeLog2 == expected.cmdqs)
    #expect(smmu.hierarchicalAttributeDisable == expected.had)
    #expect(smmu.rangeInvalidation == expected.rangeInvalidation)
    #expect(smmu.bbml == expected.bbml)
    for flag in [
      smmu.pageBasedHardwareAttributes, smmu.executeNeverByExceptionLevel, smmu.priResponsePASID, smmu.mpam,
      smmu.stage2ForcedWriteBack, smmu.smallTranslationTables,
    ] {
      #expect(flag == expected.otherIDR3Flags)
    }
    #expect(smmu.oasCode == expected.oasCode)
    #expect(smmu.outputAddressBits == expected.outputAddressBits)
    #expect(smmu.granule4K == expected.granule4K)
    #expect(smmu.granule16K == expected.granule16K)
    #expect(smmu.granule64K == expected.granule64K)
    #expect(smmu.vax == expected.vax)
    #expect(smmu.implementer == expected.implementer)
    #expect(smmu.productID == expected.productID)

    // Every bit the construction set is covered by a field; IDR2/IDR4 stay raw.
    for index in [0, 1, 3, 5] {
      #expect(smmu.undecodedBits(idr: index) == 0, "IDR\(index)")
    }
    #expect(smmu.undecodedBits(idr: 2) == expected.idr[2])
    #expect(smmu.undecodedBits(idr: 4) == expected.idr[4])
  }

  @Test func fieldsNameTheCheckedFieldsAsQEMUDoes() throws {
    let host = SMMUv3Registers(idr: Self.mismatchedHost.idr, iidr: Self.mismatchedHost.iidr, aidr: 0)
    let byName = Dictionary(uniqueKeysWithValues: host.fields.map { ($0.name, $0) })
    let stlevel = try #require(byName["IDR0.STLEVEL"])
    #expect(stlevel.bits == "28:27" && stlevel.value == 0 && stlevel.meaning == "linear stream table")
    let ttendian = try #require(byName["IDR0.TTENDIAN"])
    #expect(ttendian.bits == "22:21" && ttendian.value == 3 && ttendian.meaning.hasPrefix("big-endian only"))
    let oas = try #require(byName["IDR5.OAS"])
    #expect(oas.bits == "2:0" && oas.value == 5 && oas.meaning == "48-bit output addresses")
    #expect(byName["IDR5.GRAN64K"]?.meaning == "64 KiB granule not supported")
    #expect(byName["IDR3.RIL"]?.meaning == "range invalidation supported")
    #expect(byName["IDR1.SIDSIZE"]?.meaning == "20-bit StreamIDs")
    #expect(byName["IIDR.IMPLEMENTER"]?.meaning == "JEP106 implementer 0x43b (Arm)")
    let qemu = SMMUv3Registers(idr: Self.qemuDefaults.idr, iidr: 0, aidr: 0)
    #expect(qemu.fields.first { $0.name == "IDR0.STLEVEL" }?.meaning == "2-level stream table")
    #expect(qemu.fields.first { $0.name == "IDR1.SSIDSIZE" }?.meaning == "no SubstreamIDs (no PASID)")
  }

  /// Every IDR field hiodctl takes from QEMU's `FIELD`s (plus IIDR), grouped by register, in
  /// bit order.
  @Test func listsEveryDigestField() {
    let smmu = SMMUv3Registers(idr: Array(repeating: 0, count: 6), iidr: 0, aidr: 0)
    #expect(
      smmu.fields.map(\.name) == [
        "IDR0.S2P", "IDR0.S1P", "IDR0.TTF", "IDR0.COHACC", "IDR0.BTM", "IDR0.HTTU", "IDR0.ATS", "IDR0.ASID16",
        "IDR0.VMID16", "IDR0.CD2L", "IDR0.TTENDIAN", "IDR0.STALL_MODEL", "IDR0.TERM_MODEL", "IDR0.STLEVEL",
        "IDR1.SIDSIZE", "IDR1.SSIDSIZE", "IDR1.PRIQS", "IDR1.EVENTQS", "IDR1.CMDQS",
        "IDR3.HAD", "IDR3.PBHA", "IDR3.XNX", "IDR3.PPS", "IDR3.MPAM", "IDR3.FWB", "IDR3.STT", "IDR3.RIL",
        "IDR3.BBML",
        "IDR5.OAS", "IDR5.GRAN4K", "IDR5.GRAN16K", "IDR5.GRAN64K", "IDR5.VAX",
        "IIDR.IMPLEMENTER", "IIDR.REVISION", "IIDR.VARIANT", "IIDR.PRODUCTID",
      ])
    #expect(byRegister(smmu.fields).map(\.register) == SMMUv3Registers.decodedRegisterNames)
  }

  @Test(arguments: [
    (UInt8(0), 32), (1, 36), (2, 40), (3, 42), (4, 44), (5, 48), (6, 52), (7, 56),
  ])
  func oasCodeTable(code: UInt8, bits: Int) {
    let smmu = SMMUv3Registers(idr: [0, 0, 0, 0, 0, UInt32(code)], iidr: 0, aidr: 0)
    #expect(smmu.oasCode == code)
    #expect(smmu.outputAddressBits == bits)
    #expect(SMMUv3Registers.outputAddressBits(oasCode: code) == bits)
  }

  @Test(arguments: [
    (UInt8(0), "mixed"), (1, "reserved code 1"), (2, "little-endian only"), (3, "big-endian only"),
  ])
  func ttEndianDescriptions(code: UInt8, text: String) {
    let smmu = SMMUv3Registers(idr: [put32(UInt32(code), at: 21), 0, 0, 0, 0, 0], iidr: 0, aidr: 0)
    #expect(smmu.ttEndian == code && smmu.ttEndianDescription == text)
  }

  @Test(arguments: [0, 1, 5, 7, 12])
  func untrustedCountsAreRejected(count: Int) {
    #expect(SMMUv3Registers(exactly: Array(repeating: 0xffff_ffff, count: count), iidr: 0, aidr: 0) == nil)
  }

  @Test func exactlySixIDRsAreAccepted() {
    let smmu = SMMUv3Registers(exactly: [1, 2, 3, 4, 5, 6], iidr: 7, aidr: 8)
    #expect(smmu?.idr == [1, 2, 3, 4, 5, 6] && smmu?.iidr == 7 && smmu?.aidr == 8)
  }

  @Test(arguments: stressValues)
  func decodingIsTotalAndWellFormed(seed: UInt64) {
    // Six different 32-bit registers from one 64-bit value, plus IIDR and AIDR.
    let low = UInt32(truncatingIfNeeded: seed)
    let high = UInt32(truncatingIfNeeded: seed >> 32)
    let idr = [low, high, low ^ high, ~low, ~high, low &+ high]
    let smmu = SMMUv3Registers(idr: idr, iidr: high, aidr: low)
    for group in byRegister(smmu.fields) {
      let raw: UInt32
      var undecoded: UInt32 = 0
      if group.register == "IIDR" {
        raw = smmu.iidr  // IIDR's four fields cover all 32 bits
      } else {
        let index = Int(group.register.dropFirst(3)) ?? -1
        raw = idr[index]
        undecoded = smmu.undecodedBits(idr: index)
      }
      expectWellFormed(group.fields, raw: UInt64(raw), undecoded: UInt64(undecoded))
      #expect(group.fields.allSatisfy { $0.highBit < 32 }, "\(group.register)")
    }
    #expect([32, 36, 40, 42, 44, 48, 52, 56].contains(smmu.outputAddressBits))
    #expect(!smmu.ttEndianDescription.isEmpty && !smmu.stallModelDescription.isEmpty)
    #expect(!smmu.httuDescription.isEmpty && !smmu.vaxDescription.isEmpty)
  }
}

// MARK: - AMD-Vi

struct AMDDecoderTests {
  // EFR 0x29d3: QEMU 7.2's emulated amd-iommu on the rig (sysfs features "29d3:0"; the
  // guest's dmesg: "Extended features (0x29d3, 0x0): PreF PPR GT IA GA HE").
  //   0x29d3 = 0010_1001_1101_0011 → bits 0, 1, 4, 6, 7, 8, 11, 13:
  //   PREFETCH(0), PPR(1), GT(4), IA(6), GA(7), HE(8); X2APIC(2), NX(3), PC(9) clear;
  //   HATS(11:10) = 0b10 = 2; GATS(13:12) = 0b10 = 2; GLX(15:14) = 0;
  //   PASMAX(36:32) = 0 → 2^1 − 1 = 1 PASID; bits 48.. all clear.
  @Test func decodesQEMUsEmulatedEFR() {
    let amd = AMDExtendedFeatures(efr: 0x29d3, efr2: 0)
    #expect(amd.prefetch && amd.ppr && amd.gt && amd.ia && amd.ga && amd.he)
    #expect(!amd.x2apic && !amd.nx && !amd.pc && !amd.gamVAPIC)
    #expect(amd.hats == 2 && amd.gats == 2 && amd.glx == 0)
    #expect(amd.pasmax == 0 && amd.maxPASIDs == 1)
    #expect(!amd.giosup && !amd.hasup && !amd.ephsup && !amd.hdsup && !amd.snp)
    #expect(amd.snpAVICSup == 0)
    #expect(amd.undecodedEFRBits == 0 && amd.undecodedEFR2Bits == 0)
    let byName = Dictionary(uniqueKeysWithValues: amd.fields.map { ($0.name, $0) })
    #expect(byName["EFR.HATS"]?.meaning.contains("unverified") == true)
    #expect(byName["EFR.HATS"]?.bits == "11:10")
    #expect(byName["EFR.GT"]?.meaning == "guest translation supported")
    #expect(byName["EFR.PASMAX"]?.meaning == "up to 1 PASIDs")
  }

  // Built from the `FEATURE_*` positions: X2APIC, NX, PC, GATS 1 (5-level), GLX 1, GAM_VAPIC,
  // PASMAX 15 (2^16 − 1 = 65535 PASIDs, Linux's 16-bit limit), GIOSUP, HASUP, EPHSUP,
  // HDSUP, SNP; EFR2 SNPAVICSUP(7:5) = 1.
  @Test func decodesAConstructedEFR() {
    let efr =
      put(1, at: 2) | put(1, at: 3) | put(1, at: 4) | put(1, at: 9) | put(1, at: 12) | put(1, at: 14)
      | put(1, at: 21) | put(15, at: 32) | put(1, at: 48) | put(1, at: 49) | put(1, at: 50) | put(1, at: 52)
      | put(1, at: 63)
    let amd = AMDExtendedFeatures(efr: efr, efr2: put(1, at: 5))
    #expect(!amd.prefetch && !amd.ppr && amd.x2apic && amd.nx && amd.gt && !amd.ia && !amd.ga && !amd.he)
    #expect(amd.pc && amd.hats == 0 && amd.gats == 1 && amd.glx == 1 && amd.gamVAPIC)
    #expect(amd.pasmax == 15 && amd.maxPASIDs == 65535)
    #expect(amd.giosup && amd.hasup && amd.ephsup && amd.hdsup && amd.snp)
    #expect(amd.snpAVICSup == 1)
    let byName = Dictionary(uniqueKeysWithValues: amd.fields.map { ($0.name, $0) })
    #expect(byName["EFR.GATS"]?.meaning == "5-level guest page tables")
    #expect(byName["EFR.HDSUP"]?.meaning == "host dirty bit updates (dirty tracking) supported")
    #expect(byName["EFR.PASMAX"]?.meaning == "up to 65535 PASIDs")
    #expect(byName["EFR2.SNPAVICSUP"]?.bits == "7:5")
    #expect(amd.undecodedEFRBits == 0 && amd.undecodedEFR2Bits == 0)
  }

  @Test func withoutEFR2ThereIsNoEFR2Field() {
    let amd = AMDExtendedFeatures(efr: 0x29d3, efr2: nil)
    #expect(amd.snpAVICSup == nil && amd.undecodedEFR2Bits == nil)
    #expect(!amd.fields.contains { $0.name.hasPrefix("EFR2.") })
  }

  @Test func listsEveryDigestField() {
    #expect(
      AMDExtendedFeatures(efr: 0, efr2: 0).fields.map(\.name) == [
        "EFR.PREFETCH", "EFR.PPR", "EFR.X2APIC", "EFR.NX", "EFR.GT", "EFR.IA", "EFR.GA", "EFR.HE", "EFR.PC",
        "EFR.HATS", "EFR.GATS", "EFR.GLX", "EFR.GAM_VAPIC", "EFR.PASMAX", "EFR.GIOSUP", "EFR.HASUP",
        "EFR.EPHSUP", "EFR.HDSUP", "EFR.SNP", "EFR2.SNPAVICSUP",
      ])
  }

  @Test(arguments: [
    ("246577efa2254afa\n", [UInt64(0x2465_77ef_a225_4afa)], true),
    ("0:246577efa2254afa\n", [0, 0x2465_77ef_a225_4afa], false),
    ("246577efa2254afa:0\n", [0x2465_77ef_a225_4afa, 0], false),
    ("29d3:0\n", [0x29d3, 0], false),  // the rig (Linux 6.12 prints EFR:EFR2)
    ("29d3", [0x29d3], true),
    ("ffffffffffffffff:ffffffffffffffff\n", [.max, .max], false),
  ])
  func parsesSysfsFeatures(text: String, values: [UInt64], orderKnown: Bool) throws {
    let parsed = try #require(AMDExtendedFeatures.parseSysfsFeatures(text))
    #expect(parsed.values == values)
    #expect(parsed.orderKnown == orderKnown)
    if orderKnown {
      #expect(parsed.unambiguous == AMDExtendedFeatures(efr: values[0], efr2: nil))
      #expect(parsed.interpretations.count == 1)
    } else {
      #expect(parsed.unambiguous == nil)
      // Both orders are offered, current kernels' EFR:EFR2 first, unless they coincide.
      let readings = parsed.interpretations
      #expect(readings.first == AMDExtendedFeatures(efr: values[0], efr2: values[1]))
      if values[0] != values[1] {
        #expect(readings.last == AMDExtendedFeatures(efr: values[1], efr2: values[0]))
        #expect(readings.count == 2)
      } else {
        #expect(readings.count == 1)
      }
    }
  }

  @Test(arguments: [
    "zz", "", "\n", "1:2:3", ":", "1:", ":1", "0x", "1ffffffffffffffff", "29d3 0", "-1", "29d3;0",
  ])
  func rejectsMalformedSysfsFeatures(text: String) {
    #expect(AMDExtendedFeatures.parseSysfsFeatures(text) == nil)
  }

  @Test func aKnownEFRResolvesTheOrder() throws {
    let parsed = try #require(AMDExtendedFeatures.parseSysfsFeatures("4:29d3\n"))
    #expect(parsed.resolved(knownEFR: 0x29d3) == AMDExtendedFeatures(efr: 0x29d3, efr2: 4))
    #expect(parsed.resolved(knownEFR: 4) == AMDExtendedFeatures(efr: 4, efr2: 0x29d3))
    #expect(parsed.resolved(knownEFR: 0x1234) == nil)
  }

  @Test(arguments: stressValues)
  func decodingIsTotalAndWellFormed(raw: UInt64) throws {
    let amd = AMDExtendedFeatures(efr: raw, efr2: ~raw)
    let groups = byRegister(amd.fields)
    #expect(groups.map(\.register) == ["EFR", "EFR2"])
    expectWellFormed(groups[0].fields, raw: raw, undecoded: amd.undecodedEFRBits)
    expectWellFormed(groups[1].fields, raw: ~raw, undecoded: try #require(amd.undecodedEFR2Bits))
    #expect((1...(1 << 32) - 1).contains(amd.maxPASIDs))
  }
}

// MARK: - DecodedField

struct DecodedFieldTests {
  @Test(arguments: [(16...21, "21:16"), (56...56, "56"), (0...63, "63:0"), (0...0, "0")])
  func spellsBitsAsTheSpecsDo(range: ClosedRange<Int>, bits: String) {
    let field = DecodedField(name: "X", bitRange: range, value: 1, meaning: "x")
    #expect(field.bits == bits)
    #expect(field.lowBit == range.lowerBound && field.highBit == range.upperBound)
  }

  @Test func masksAndPlacesTheValue() {
    let mgaw = DecodedField(name: "MGAW", bitRange: 16...21, value: 38, meaning: "")
    #expect(mgaw.mask == 0x3f_0000)
    #expect(mgaw.valueInPlace == 0x26_0000)
    let whole = DecodedField(name: "ALL", bitRange: 0...63, value: .max, meaning: "")
    #expect(whole.mask == .max && whole.valueInPlace == .max)
    // A field outside a 64-bit register is representable but covers nothing.
    let outside = DecodedField(name: "FAR", bitRange: 64...70, value: 1, meaning: "")
    #expect(outside.mask == 0 && outside.valueInPlace == 0)
  }
}

// MARK: - DecodedFieldCache

struct DecodedFieldCacheTests {
  /// Many threads asking for the same few registers at once (as a snapshot's threads do)
  /// each get what decoding the words directly gives, and one decoder's answer is never
  /// handed out for another decoder's words.
  @Test func givesWhatDecodingGivesFromEveryThread() {
    let registers = pseudoRandomValues(count: 6, seed: 0x5eed_cace)
    let mismatches = PThreadLocked(0)
    DispatchQueue.concurrentPerform(iterations: 64) { round in
      let raw = registers[round % registers.count]
      let capability = DecodedFieldCache.fields(.intelCAP, [raw]) { VTdCapability(raw).fields }
      let extended = DecodedFieldCache.fields(.intelECAP, [raw]) { VTdExtendedCapability(raw).fields }
      if capability != VTdCapability(raw).fields || extended != VTdExtendedCapability(raw).fields {
        mismatches.withLock { $0 += 1 }
      }
    }
    #expect(mismatches.withLock { $0 } == 0)
  }

  /// The lock the cache stands on: no increment from any thread is lost.
  @Test func lockedValueLosesNoUpdate() {
    let counter = PThreadLocked(0)
    DispatchQueue.concurrentPerform(iterations: 8) { _ in
      for _ in 0..<250_000 { counter.withLock { $0 += 1 } }
    }
    #expect(counter.withLock { $0 } == 2_000_000)
  }
}
