// hiodctl tests — IOMMU_GET_HW_INFO read byte for byte as include/uapi/linux/iommufd.h
// lays it out: struct iommu_hw_info and the three vendor structs, every field a
// distinct value so that reading any field at a wrong offset shows.
// SPDX-License-Identifier: GPL-2.0-or-later

import CHIODShim
import SystemPackage
import Testing

@testable import HostIOMMU

/// Bytes laid out by hand at the offsets the uapi header gives, little-endian.
struct ByteImage: Sendable {
  var bytes: [UInt8]

  init(size: Int) {
    bytes = [UInt8](repeating: 0, count: size)
  }

  mutating func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
    for index in 0..<MemoryLayout<T>.size {
      bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index))
    }
  }
}

struct RealizeHardwareInfoTests {
  /// The iommufd script, with IOMMU_GET_HW_INFO answered as the kernel does: type,
  /// capabilities and PASID width in struct iommu_hw_info, `min(data_len, vendor size)`
  /// bytes copied to data_uptr and the rest of the user buffer zeroed, data_len set to
  /// the kernel's full vendor size.
  static func script(
    type: Int, vendor: ByteImage, capabilities: UInt64 = 0, maxPASIDLog2: UInt8 = 0
  ) -> ScriptedKernel.Script {
    injecting(HIOD_IOMMU_GET_HW_INFO, into: RealizeTests.iommufdScript) { request in
      let info = request.pointer!
      // struct iommu_hw_info: size @0, flags @4, dev_id @8, data_len @12, data_uptr @16,
      // out_data_type @24, out_max_pasid_log2 @28, __reserved[3] @29, out_capabilities @32.
      let capacity = Int(info.load(fromByteOffset: 12, as: UInt32.self))
      // SAFETY: data_uptr is the product's vendor buffer of data_len bytes, alive for
      // the ioctl; no more than data_len bytes are written to it.
      let buffer = UnsafeMutableRawBufferPointer(
        start: UnsafeMutableRawPointer(bitPattern: UInt(info.load(fromByteOffset: 16, as: UInt64.self))),
        count: capacity)
      for index in 0..<capacity { buffer[index] = index < vendor.bytes.count ? vendor.bytes[index] : 0 }
      info.storeBytes(of: UInt32(vendor.bytes.count), toByteOffset: 12, as: UInt32.self)
      info.storeBytes(of: UInt32(type), toByteOffset: 24, as: UInt32.self)
      info.storeBytes(of: maxPASIDLog2, toByteOffset: 28, as: UInt8.self)
      info.storeBytes(of: capabilities, toByteOffset: 32, as: UInt64.self)
      return .success(0)
    }
  }

  static func realize(_ script: @escaping ScriptedKernel.Script) throws -> (HostIOMMUDevice, ScriptedKernel) {
    let kernel = ScriptedKernel(script: script)
    let result = try RealizeTests.realize("0000:00:02.0", backend: .iommufd, kernel: kernel)
    #expect(kernel.openDescriptors.isEmpty)
    return (try #require(result.hostIOMMUDevice), kernel)
  }

  /// struct iommu_hw_info_vtd {__u32 flags; __u32 __reserved; __aligned_u64 cap_reg;
  /// __aligned_u64 ecap_reg;}. `__reserved` is not zero here so that a read four bytes
  /// off shows.
  @Test func intelVTd() throws {
    var vendor = ByteImage(size: 24)
    vendor.put(UInt32(0x0000_0001), at: 0)  // flags: ERRATA_772415_SPR17
    vendor.put(UInt32(0x5e5e_5e5e), at: 4)  // __reserved
    vendor.put(UInt64(0x00d2_008c_2226_0286), at: 8)  // cap_reg
    vendor.put(UInt64(0x0000_0000_00f0_0f4a), at: 16)  // ecap_reg
    let (device, _) = try Self.realize(Self.script(type: HIOD_IOMMU_HW_INFO_TYPE_INTEL_VTD, vendor: vendor))
    #expect(device.caps.type?.value == .intelVTd)
    #expect(
      device.caps.vendor
        == Sourced(
          .intelVTd(flags: 1, capability: 0x00d2_008c_2226_0286, extendedCapability: 0xf0_0f4a),
          Provenance(.iommufd, "IOMMU_GET_HW_INFO")))
  }

  /// struct iommu_hw_info_arm_smmuv3 {__u32 flags; __u32 __reserved; __u32 idr[6];
  /// __u32 iidr; __u32 aidr;}: idr at 8..28, iidr at 32, aidr at 36.
  @Test func armSMMUv3() throws {
    var vendor = ByteImage(size: 40)
    vendor.put(UInt32(0xf1a6_0000), at: 0)  // flags
    vendor.put(UInt32(0x5e5e_5e5e), at: 4)  // __reserved
    for index in 0..<6 { vendor.put(UInt32(0x1d40_0000 + index), at: 8 + 4 * index) }  // IDR0..IDR5
    vendor.put(UInt32(0x11d4_0032), at: 32)  // IIDR
    vendor.put(UInt32(0xa1d4_0036), at: 36)  // AIDR
    let (device, _) = try Self.realize(Self.script(type: HIOD_IOMMU_HW_INFO_TYPE_ARM_SMMUV3, vendor: vendor))
    #expect(device.caps.type?.value == .armSMMUv3)
    guard case .armSMMUv3(let flags, let idr, let iidr, let aidr)? = device.caps.vendor?.value else {
      Issue.record("not SMMUv3 vendor data: \(String(describing: device.caps.vendor))")
      return
    }
    #expect(flags == 0xf1a6_0000)
    #expect(idr == [0x1d40_0000, 0x1d40_0001, 0x1d40_0002, 0x1d40_0003, 0x1d40_0004, 0x1d40_0005])
    #expect(iidr == 0x11d4_0032)
    #expect(aidr == 0xa1d4_0036)
  }

  /// struct iommu_hw_info_amd {__aligned_u64 efr; __aligned_u64 efr2;}: efr2 at 8.
  @Test func amd() throws {
    var vendor = ByteImage(size: 16)
    vendor.put(UInt64(0x0123_4567_89ab_cdef), at: 0)  // EFR
    vendor.put(UInt64(0xfedc_ba98_7654_3210), at: 8)  // EFR2
    let (device, _) = try Self.realize(Self.script(type: HIOD_IOMMU_HW_INFO_TYPE_AMD, vendor: vendor))
    #expect(device.caps.type?.value == .amd)
    #expect(device.caps.vendor?.value == .amd(efr: 0x0123_4567_89ab_cdef, efr2: 0xfedc_ba98_7654_3210))
  }

  /// out_data_type @24, out_max_pasid_log2 @28, out_capabilities @32 of struct
  /// iommu_hw_info; DIRTY_TRACKING makes the paging HWPT a dirty-tracking one, as
  /// QEMU's autodomain allocates it.
  @Test func theCommonFields() throws {
    var vendor = ByteImage(size: 24)
    vendor.put(UInt64(0x00d2_008c_2226_0286), at: 8)
    let capabilities = UInt64(HIOD_IOMMU_HW_CAP_DIRTY_TRACKING | HIOD_IOMMU_HW_CAP_PCI_PASID_EXEC)
    let (device, _) = try Self.realize(
      Self.script(type: HIOD_IOMMU_HW_INFO_TYPE_INTEL_VTD, vendor: vendor, capabilities: capabilities, maxPASIDLog2: 20)
    )
    #expect(device.caps.hwCaps == Sourced(capabilities, Provenance(.iommufd, "IOMMU_GET_HW_INFO: out_capabilities")))
    #expect(device.caps.maxPASIDLog2 == Sourced(20, Provenance(.iommufd, "IOMMU_GET_HW_INFO: out_max_pasid_log2")))
    #expect(device.iommufd?.hwptFlags == UInt32(HIOD_IOMMU_HWPT_ALLOC_DIRTY_TRACKING))
  }

  /// A kernel whose vendor struct is shorter than hiodctl's (an older layout) is kept as
  /// raw bytes, exactly the `data_len` it reported; so is a type hiodctl does not decode.
  @Test(arguments: [
    (HIOD_IOMMU_HW_INFO_TYPE_ARM_SMMUV3, 32, IOMMUHardwareType.armSMMUv3),
    (HIOD_IOMMU_HW_INFO_TYPE_AMD, 8, .amd),
    (HIOD_IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV, 8, .tegra241CMDQV),
  ])
  func shortOrUnknownVendorDataStaysRaw(_ type: Int, _ length: Int, _ expected: IOMMUHardwareType) throws {
    var vendor = ByteImage(size: length)
    for index in 0..<length { vendor.bytes[index] = UInt8(0xa0 + index) }
    let (device, _) = try Self.realize(Self.script(type: type, vendor: vendor))
    #expect(device.caps.vendor?.value == .other(type: expected, bytes: vendor.bytes))
  }
}
