// hiodctl fuzzing — SMMUv3Registers(exactly:iidr:aidr:) and its fields, from raw bytes laid
// out as struct iommu_hw_info_arm_smmuv3 (flags, __reserved, idr[6], iidr, aidr), as
// IOMMU_GET_HW_INFO returns it. The first byte picks how many IDR words the caller passes
// (0...8: only 6 is valid), so the count check is exercised too.
// SPDX-License-Identifier: GPL-2.0-or-later

import FuzzSupport

@testable import HostIOMMU

@_cdecl("LLVMFuzzerTestOneInput")
package func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  var reader = ByteReader(bytes(data, size))
  let count = Int(reader.read(UInt8.self) % 9)
  _ = reader.read(UInt32.self)  // flags
  _ = reader.read(UInt32.self)  // __reserved
  let idr = (0..<count).map { _ in reader.read(UInt32.self) }
  let iidr = reader.read(UInt32.self)
  let aidr = reader.read(UInt32.self)

  let registers = SMMUv3Registers(exactly: idr, iidr: iidr, aidr: aidr)
  require((registers == nil) == (count != 6), "\(count) IDR words \(registers == nil ? "refused" : "accepted")")
  guard let registers else { return 0 }

  let fields = registers.fields
  var listed = 0
  for name in SMMUv3Registers.decodedRegisterNames {
    let group = fields.filter { $0.name.hasPrefix(name + ".") }
    listed += group.count
    require(!group.isEmpty, "no \(name) fields")
    let raw: UInt32 = name == "IIDR" ? iidr : idr[Int(name.dropFirst(3))!]
    let covered = checkFields(group, of: UInt64(raw), width: 32, register: name)
    if name != "IIDR" {
      let index = Int(name.dropFirst(3))!
      require(
        registers.undecodedBits(idr: index) == raw & ~UInt32(truncatingIfNeeded: covered),
        "\(name) undecodedBits is not the register minus the fields")
    }
  }
  require(listed == fields.count, "a field belongs to no decoded register")
  // IDR2 and IDR4 are kept raw: all their bits are undecoded; indices past IDR5 read as 0.
  require(
    registers.undecodedBits(idr: 2) == idr[2] && registers.undecodedBits(idr: 4) == idr[4], "IDR2/IDR4 not kept raw")
  require(registers.undecodedBits(idr: 6) == 0 && registers.undecodedBits(idr: -1) == 0, "an IDR past the six has bits")
  require([32, 36, 40, 42, 44, 48, 52, 56].contains(registers.outputAddressBits), "OAS \(registers.outputAddressBits)")
  _ = (
    registers.translationTableFormatDescription, registers.httuDescription, registers.ttEndianDescription,
    registers.stallModelDescription, registers.streamTableLevelDescription, registers.vaxDescription
  )
  return 0
}
