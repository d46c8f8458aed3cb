// hiodctl tests — the kernel ABI pinned: ioctl numbers and the GET_INFO chain parser.
// SPDX-License-Identifier: GPL-2.0-or-later

import CHIODShim
import Testing

@testable import HostIOMMU

struct IoctlNumberTests {
  /// The values are the kernel's: _IO(';', nr) = 0x3b00 | nr (rust-vmm and
  /// cloud-hypervisor pin the same numbers, e.g. 15204 and 15233).
  @Test(arguments: [
    (HIOD_VFIO_GET_API_VERSION, 15204),
    (HIOD_VFIO_CHECK_EXTENSION, 15205),
    (HIOD_VFIO_SET_IOMMU, 15206),
    (HIOD_VFIO_GROUP_GET_STATUS, 15207),
    (HIOD_VFIO_GROUP_SET_CONTAINER, 15208),
    (HIOD_VFIO_GROUP_UNSET_CONTAINER, 15209),
    (HIOD_VFIO_IOMMU_GET_INFO, 15216),
    (HIOD_VFIO_DEVICE_BIND_IOMMUFD, 15222),
    (HIOD_VFIO_DEVICE_ATTACH_IOMMUFD_PT, 15223),
    (HIOD_VFIO_DEVICE_DETACH_IOMMUFD_PT, 15224),
    (HIOD_IOMMU_DESTROY, 15232),
    (HIOD_IOMMU_IOAS_ALLOC, 15233),
    (HIOD_IOMMU_IOAS_IOVA_RANGES, 15236),
    (HIOD_IOMMU_HWPT_ALLOC, 15241),
    (HIOD_IOMMU_GET_HW_INFO, 15242),
  ])
  func ioctlNumber(_ request: Int, _ expected: Int) {
    #expect(request == expected)
  }

  @Test func uapiStructSizes() {
    #expect(MemoryLayout<hiod_vfio_group_status>.size == 8)
    #expect(MemoryLayout<hiod_vfio_iommu_type1_info>.size == 24)
    #expect(MemoryLayout<hiod_vfio_device_bind_iommufd>.size == 16)
    #expect(MemoryLayout<hiod_vfio_device_attach_iommufd_pt>.size == 12)
    #expect(MemoryLayout<hiod_iommu_ioas_iova_ranges>.size == 32)
    #expect(MemoryLayout<hiod_iommu_hwpt_alloc>.size == 48)
    #expect(MemoryLayout<hiod_iommu_hw_info>.size == 40)
    #expect(MemoryLayout<hiod_iommu_hw_info_vtd>.size == 24)
    #expect(MemoryLayout<hiod_iommu_hw_info_arm_smmuv3>.size == 40)
    #expect(MemoryLayout<hiod_iommu_hw_info_amd>.size == 16)
    #expect(MemoryLayout<hiod_iommu_destroy>.size == 8)
    #expect(MemoryLayout<hiod_iommu_ioas_alloc>.size == 12)
    #expect(MemoryLayout<hiod_vfio_device_detach_iommufd_pt>.size == 8)
  }

  /// The vendor structs' offsets as include/uapi/linux/iommufd.h gives them (hiod_uapi.h
  /// asserts the same at compile time; this pins what Swift imported).
  @Test func vendorStructOffsets() {
    #expect(MemoryLayout<hiod_iommu_hw_info_vtd>.offset(of: \.flags) == 0)
    #expect(MemoryLayout<hiod_iommu_hw_info_vtd>.offset(of: \.reserved) == 4)
    #expect(MemoryLayout<hiod_iommu_hw_info_vtd>.offset(of: \.cap_reg) == 8)
    #expect(MemoryLayout<hiod_iommu_hw_info_vtd>.offset(of: \.ecap_reg) == 16)
    #expect(MemoryLayout<hiod_iommu_hw_info_arm_smmuv3>.offset(of: \.idr) == 8)
    #expect(MemoryLayout<hiod_iommu_hw_info_arm_smmuv3>.offset(of: \.iidr) == 32)
    #expect(MemoryLayout<hiod_iommu_hw_info_arm_smmuv3>.offset(of: \.aidr) == 36)
    #expect(MemoryLayout<hiod_iommu_hw_info_amd>.offset(of: \.efr) == 0)
    #expect(MemoryLayout<hiod_iommu_hw_info_amd>.offset(of: \.efr2) == 8)
    #expect(MemoryLayout<hiod_iommu_hw_info>.offset(of: \.out_data_type) == 24)
    #expect(MemoryLayout<hiod_iommu_hw_info>.offset(of: \.out_max_pasid_log2) == 28)
    #expect(MemoryLayout<hiod_iommu_hw_info>.offset(of: \.out_capabilities) == 32)
    #expect(Int(HIOD_IOMMU_HW_INFO_VENDOR_MAX) == MemoryLayout<hiod_iommu_hw_info_arm_smmuv3>.size)
  }
}

/// Builds VFIO_IOMMU_GET_INFO answers byte by byte, as the kernel lays them out.
struct InfoBuffer {
  var bytes: [UInt8]

  init(flags: UInt32, pageSizes: UInt64 = 0x4020_1000, capOffset: UInt32 = 0, size: Int = 24) {
    bytes = [UInt8](repeating: 0, count: size)
    put(UInt32(size), at: 0)
    put(flags, at: 4)
    put(pageSizes, at: 8)
    put(capOffset, at: 16)
  }

  mutating func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
    if offset + MemoryLayout<T>.size > bytes.count {
      bytes += [UInt8](repeating: 0, count: offset + MemoryLayout<T>.size - bytes.count)
    }
    for index in 0..<MemoryLayout<T>.size {
      bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index))
    }
  }

  /// An IOVA_RANGE capability at `offset` with `next`.
  mutating func ranges(_ ranges: [(UInt64, UInt64)], at offset: Int, next: UInt32, claimed: Int? = nil) {
    put(UInt16(1), at: offset)
    put(UInt16(1), at: offset + 2)
    put(next, at: offset + 4)
    put(UInt32(claimed ?? ranges.count), at: offset + 8)
    for (index, range) in ranges.enumerated() {
      put(range.0, at: offset + 16 + 16 * index)
      put(range.1, at: offset + 24 + 16 * index)
    }
  }

  mutating func dmaAvailable(_ count: UInt32, at offset: Int, next: UInt32) {
    put(UInt16(3), at: offset)
    put(UInt16(1), at: offset + 2)
    put(next, at: offset + 4)
    put(count, at: offset + 8)
  }
}

struct Type1InfoParserTests {
  static let caps = UInt32(HIOD_VFIO_IOMMU_INFO_PGSIZES | HIOD_VFIO_IOMMU_INFO_CAPS)

  /// What Linux 6.12 returned on the rig (intel-iommu aw-bits=39): IOVA_RANGE then
  /// DMA_AVAIL, chained from offset 24.
  @Test func parsesTheRigsAnswer() {
    var buffer = InfoBuffer(flags: Self.caps, capOffset: 24)
    buffer.ranges([(0, 0xfedf_ffff), (0xfef0_0000, 0x7f_ffff_ffff)], at: 24, next: 72)
    buffer.dmaAvailable(65535, at: 72, next: 0)
    let info = Type1InfoParser.parse(buffer.bytes)
    #expect(info.problems.isEmpty)
    #expect(info.pageSizes == 0x4020_1000)
    #expect(
      info.iovaRanges == [IOVARange(start: 0, last: 0xfedf_ffff), IOVARange(start: 0xfef0_0000, last: 0x7f_ffff_ffff)])
    #expect(info.dmaAvailable == 65535)
    #expect(qemuAWBits(info.iovaRanges ?? []) == 39)
  }

  @Test func withoutCapsThereAreNoRanges() {
    let info = Type1InfoParser.parse(InfoBuffer(flags: UInt32(HIOD_VFIO_IOMMU_INFO_PGSIZES)).bytes)
    #expect(info.iovaRanges == nil && info.problems.isEmpty)
  }

  @Test func aLoopedChainIsReportedOnce() {
    var buffer = InfoBuffer(flags: Self.caps, capOffset: 24)
    buffer.dmaAvailable(5, at: 24, next: 40)
    buffer.dmaAvailable(6, at: 40, next: 24)  // back to the first
    let info = Type1InfoParser.parse(buffer.bytes)
    #expect(info.dmaAvailable == 5)
    #expect(
      info.problems == [
        "a second DMA_AVAIL capability at offset 40 is ignored, as QEMU ignores it",
        "capability chain loops back to offset 24",
      ])
  }

  /// QEMU's vfio_get_cap() takes the first capability with an id; a second one (which
  /// no kernel sends) must not add ranges QEMU would never see.
  @Test func onlyTheFirstIOVARangeCapabilityCounts() {
    var buffer = InfoBuffer(flags: Self.caps, capOffset: 24)
    buffer.ranges([(0, 0x7f_ffff_ffff)], at: 24, next: 56)
    buffer.ranges([(0, 0xffff_ffff_ffff)], at: 56, next: 0)
    let info = Type1InfoParser.parse(buffer.bytes)
    #expect(info.iovaRanges == [IOVARange(start: 0, last: 0x7f_ffff_ffff)])
    #expect(info.problems == ["a second IOVA_RANGE capability at offset 56 is ignored, as QEMU ignores it"])
  }

  @Test func aSelfLoopEnds() {
    var buffer = InfoBuffer(flags: Self.caps, capOffset: 24)
    buffer.dmaAvailable(5, at: 24, next: 24)
    #expect(Type1InfoParser.parse(buffer.bytes).problems == ["capability chain loops back to offset 24"])
  }

  @Test func aNextOutsideTheBufferStops() {
    var buffer = InfoBuffer(flags: Self.caps, capOffset: 24)
    buffer.dmaAvailable(5, at: 24, next: 4096)
    let info = Type1InfoParser.parse(buffer.bytes)
    #expect(info.dmaAvailable == 5)
    #expect(info.problems == ["capability at offset 4096 lies outside the 36-byte buffer"])
  }

  @Test func aNextIntoTheHeaderStops() {
    var buffer = InfoBuffer(flags: Self.caps, capOffset: 24)
    buffer.dmaAvailable(5, at: 24, next: 8)
    #expect(Type1InfoParser.parse(buffer.bytes).problems == ["capability at offset 8 lies outside the 36-byte buffer"])
  }

  @Test func aTruncatedRangeArrayKeepsWhatFits() {
    var buffer = InfoBuffer(flags: Self.caps, capOffset: 24)
    buffer.ranges([(0, 0xfff), (0x2000, 0x2fff)], at: 24, next: 0, claimed: 9)
    let info = Type1InfoParser.parse(buffer.bytes)
    #expect(info.iovaRanges?.count == 2)
    #expect(info.problems == ["IOVA_RANGE capability claims 9 ranges but the buffer holds 2"])
  }

  @Test func aCapabilityHeaderCutShortStops() {
    var buffer = InfoBuffer(flags: Self.caps, capOffset: 24)
    buffer.put(UInt32(1), at: 24)  // id and version only: 4 of the header's 8 bytes
    #expect(buffer.bytes.count == 28)
    let info = Type1InfoParser.parse(buffer.bytes)
    #expect(info.problems == ["capability at offset 24 lies outside the 28-byte buffer"])
  }

  @Test func aBufferShorterThanTheMinimum() {
    #expect(Type1InfoParser.parse([1, 2, 3]).problems.count == 1)
    #expect(Type1InfoParser.parse([]).problems.count == 1)
  }

  /// The kernel's own selftest fills past argsz with 0xAA; the parser only ever sees the
  /// argsz bytes, and bytes past a capability's own data are never read as ranges.
  @Test func unknownCapabilitiesAreSkipped() {
    var buffer = InfoBuffer(flags: Self.caps, capOffset: 24)
    buffer.put(UInt16(99), at: 24)
    buffer.put(UInt32(40), at: 28)
    buffer.dmaAvailable(7, at: 40, next: 0)
    buffer.bytes += [UInt8](repeating: 0xaa, count: 16)
    let info = Type1InfoParser.parse(buffer.bytes)
    #expect(info.dmaAvailable == 7 && info.problems.isEmpty && info.iovaRanges == nil)
  }
}

struct AddressWidthTests {
  @Test(arguments: [
    ([] as [UInt64], 64),
    ([0xffff_ffff_ffff], 48),
    ([0x7f_ffff_ffff], 39),
    ([0x1ff_ffff_ffff_ffff], 57),
    ([UInt64.max], 64),
    ([0xfedf_ffff, 0x7f_ffff_ffff], 39),
    ([0], 1),
  ])
  func qemuRule(_ lasts: [UInt64], _ bits: Int) {
    #expect(qemuAWBits(lasts.map { IOVARange(start: 0, last: $0) }) == bits)
  }

  @Test func reservedRegionsCutTheApertureExceptDirectRelaxable() {
    let regions = [
      ReservedRegion(start: 0, end: 0xff_ffff, type: .directRelaxable),
      ReservedRegion(start: 0xfee0_0000, end: 0xfeef_ffff, type: .msi),
      ReservedRegion(start: 0xfd_0000_0000, end: 0xff_ffff_ffff, type: .reserved),
    ]
    #expect(
      usableRanges(apertureEnd: 0xffff_ffff_ffff, excluding: regions) == [
        IOVARange(start: 0, last: 0xfedf_ffff),
        IOVARange(start: 0xfef0_0000, last: 0xfc_ffff_ffff),
        IOVARange(start: 0x100_0000_0000, last: 0xffff_ffff_ffff),
      ])
  }

  @Test func holesAtTheEdgesAndOverlaps() {
    let edge = [
      ReservedRegion(start: 0, end: 0xfff, type: .reserved),
      ReservedRegion(start: 0x800, end: 0x1fff, type: .msi),
      ReservedRegion(start: 0xf000, end: 0xffff, type: .reserved),
    ]
    #expect(usableRanges(apertureEnd: 0xffff, excluding: edge) == [IOVARange(start: 0x2000, last: 0xefff)])
    #expect(usableRanges(apertureEnd: .max, excluding: []) == [IOVARange(start: 0, last: .max)])
    let whole = [ReservedRegion(start: 0, end: .max, type: .reserved)]
    #expect(usableRanges(apertureEnd: .max, excluding: whole).isEmpty)
  }

  /// Found by Fuzz/Harnesses/iova-ranges: a reversed region (only a hand-edited
  /// snapshot can hold one) used to split the aperture into overlapping windows.
  @Test func aReversedRegionCoversNothing() {
    let reversed = [ReservedRegion(start: 0x10, end: 0x5, type: .reserved)]
    #expect(usableRanges(apertureEnd: .max, excluding: reversed) == [IOVARange(start: 0, last: .max)])
  }

  @Test func pageSizeNames() {
    #expect(HostIOMMU.pageSizeNames(0x4020_1000) == ["4K", "2M", "1G"])
    #expect(HostIOMMU.pageSizeNames(0x1000) == ["4K"])
  }
}

struct SysfsPredictorTests {
  static func registers(_ cap: UInt64, _ ecap: UInt64) -> IntelVTdRegisters {
    IntelVTdRegisters(version: "1:0", capability: cap, extendedCapability: ecap)
  }

  /// QEMU's emulated VT-d with aw-bits 39 and 48 (as the rig reads them from sysfs).
  @Test(
    arguments: [
      (0x00d2_008c_2226_0286, 0x0000_0000_00f0_0f4a, 39),
      (0x00d2_008c_222f_0686, 0x0000_0000_00f0_0f4a, 48),
    ] as [(UInt64, UInt64, Int)])
  func emulatedUnits(cap: UInt64, ecap: UInt64, bits: Int) {
    #expect(SysfsPredictor.intelDomainWidth(Self.registers(cap, ecap), scalableMode: nil).bits == bits)
  }

  /// Linux takes the largest SAGAW width not above 57, then caps it at MGAW.
  @Test func mgawCapsTheSAGAWWidth() {
    // SAGAW 39|48|57 (bits 1–3), MGAW 46.
    let cap: UInt64 = (0b01110 << 8) | (45 << 16)
    #expect(SysfsPredictor.intelDomainWidth(Self.registers(cap, 0), scalableMode: false).bits == 46)
  }

  /// With scalable mode and first-stage translation, first-stage SAGAW (48, 57 with
  /// FS5LP) intersects the second-stage one; whether the kernel runs in scalable mode is
  /// not in sysfs, so both are computed and the smaller one reported with a note.
  @Test func scalableModeAmbiguityIsNoted() {
    let cap: UInt64 = (0b01000 << 8) | (56 << 16)  // second-stage 57 only, MGAW 57
    let ecap: UInt64 = (1 << 43) | (1 << 47)  // SMTS, FSTS, no SSTS: first-stage only
    let unknown = SysfsPredictor.intelDomainWidth(Self.registers(cap, ecap), scalableMode: nil)
    #expect(unknown.bits == 48)
    #expect(unknown.notes.contains { $0.contains("scalable mode") })
    #expect(SysfsPredictor.intelDomainWidth(Self.registers(cap, ecap), scalableMode: false).bits == 57)
    #expect(SysfsPredictor.intelDomainWidth(Self.registers(cap | (1 << 60), ecap), scalableMode: true).bits == 57)
  }

  @Test(arguments: [
    (0b0000 as UInt64, 0x1000 as UInt64),
    (0b0001, 0x20_1000),
    (0b0011, 0x4020_1000),
    (0b0111, 0x4020_1000),
  ])
  func secondStagePageSizes(sllps: UInt64, mask: UInt64) {
    #expect(SysfsPredictor.intelSecondStagePageSizes(sllps << 34) == mask)
  }

  @Test func predictsTheFixtureHost() throws {
    let host = try Fixtures.scan("synthetic/intel-host")
    let predictor = SysfsPredictor(root: try Fixtures.root("synthetic/intel-host"))
    let nic = try #require(host.devices.first { $0.address.description == "0000:00:02.0" })
    let prediction = try predictor.predict(nic, in: host)
    #expect(prediction.backend == .sysfs && prediction.awBits == 39)
    #expect(
      prediction.iovaRanges?.value == [
        IOVARange(start: 0, last: 0xfedf_ffff), IOVARange(start: 0xfef0_0000, last: 0x7f_ffff_ffff),
      ])
    #expect(prediction.pageSizeMask?.value == 0x4020_1000)
    #expect(prediction.getCap(.iommuType) == .value(1, Provenance(.sysfs, "/sys/class/iommu/dmar0 is a VT-d unit")))
    let vmd = try #require(host.devices.last)
    #expect(try predictor.predict(vmd, in: host).awBits == 48)
  }

  @Test func aDeviceWithoutAGroupCannotBePredicted() throws {
    let host = try Fixtures.scan("synthetic/no-iommu")
    let predictor = SysfsPredictor(root: try Fixtures.root("synthetic/no-iommu"))
    #expect {
      _ = try predictor.predict(host.devices[1], in: host)
    } throws: { ($0 as? RealizeFailure)?.problem == .noIOMMUGroup }
  }
}
