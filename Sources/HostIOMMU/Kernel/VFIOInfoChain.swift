// hiodctl — the VFIO_IOMMU_GET_INFO answer, parsed from raw bytes, defensively.
// SPDX-License-Identifier: GPL-2.0-or-later

import CHIODShim

/// What `VFIO_IOMMU_GET_INFO` says about a type1 container.
struct Type1Info: Hashable, Sendable {
  var flags: UInt32
  /// `iova_pgsizes`, valid when `VFIO_IOMMU_INFO_PGSIZES` is set.
  var pageSizes: UInt64?
  /// From `VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE`; nil when the kernel sent none (< 5.4).
  var iovaRanges: [IOVARange]?
  /// From `VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL`.
  var dmaAvailable: UInt32?
  /// Whether `VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION` was present.
  var migration: Bool
  /// What was wrong with the buffer: a chain that loops, points outside the buffer,
  /// or a capability too short for its own header. The rest is still reported.
  var problems: [String]
}

enum Type1InfoParser {
  static let headerSize = 24  // struct vfio_iommu_type1_info
  static let capabilityHeaderSize = 8  // struct vfio_info_cap_header
  /// No real chain has more than a handful of capabilities; this bounds a corrupt one.
  static let maximumCapabilities = 64

  /// Parses the info struct and walks its capability chain. `buffer` is exactly what
  /// the kernel filled (`argsz` bytes); offsets in the chain count from its start.
  static func parse(_ buffer: [UInt8]) -> Type1Info {
    var info = Type1Info(flags: 0, migration: false, problems: [])
    guard buffer.count >= 16 else {
      info.problems.append("the info buffer holds \(buffer.count) bytes, less than the 16-byte minimum")
      return info
    }
    info.flags = buffer.loadLittleEndian(UInt32.self, at: 4)
    if info.flags & UInt32(HIOD_VFIO_IOMMU_INFO_PGSIZES) != 0 {
      info.pageSizes = buffer.loadLittleEndian(UInt64.self, at: 8)
    }
    guard info.flags & UInt32(HIOD_VFIO_IOMMU_INFO_CAPS) != 0 else { return info }
    guard buffer.count >= headerSize else {
      info.problems.append("CAPS is set but the buffer ends before cap_offset")
      return info
    }
    var offset = Int(buffer.loadLittleEndian(UInt32.self, at: 16))
    var visited: Set<Int> = []
    while offset != 0 {
      guard !visited.contains(offset), visited.count < maximumCapabilities else {
        info.problems.append("capability chain loops back to offset \(offset)")
        break
      }
      visited.insert(offset)
      guard offset >= headerSize, offset <= buffer.count - capabilityHeaderSize else {
        info.problems.append("capability at offset \(offset) lies outside the \(buffer.count)-byte buffer")
        break
      }
      let id = buffer.loadLittleEndian(UInt16.self, at: offset)
      let next = Int(buffer.loadLittleEndian(UInt32.self, at: offset + 4))
      parseCapability(id: id, at: offset, in: buffer, into: &info)
      offset = next
    }
    return info
  }

  private static func parseCapability(id: UInt16, at offset: Int, in buffer: [UInt8], into info: inout Type1Info) {
    switch Int(id) {
    case HIOD_VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE:
      // QEMU's vfio_get_cap() returns the first capability with the id; so does this.
      guard info.iovaRanges == nil else {
        info.problems.append("a second IOVA_RANGE capability at offset \(offset) is ignored, as QEMU ignores it")
        return
      }
      guard offset + 16 <= buffer.count else {
        info.problems.append("IOVA_RANGE capability at offset \(offset) is truncated")
        return
      }
      let count = Int(buffer.loadLittleEndian(UInt32.self, at: offset + 8))
      let available = (buffer.count - offset - 16) / 16
      if count > available {
        info.problems.append(
          "IOVA_RANGE capability claims \(count) ranges but the buffer holds \(available)")
      }
      var ranges: [IOVARange] = []
      for index in 0..<Swift.min(count, available) {
        let base = offset + 16 + index * 16
        ranges.append(
          IOVARange(
            start: buffer.loadLittleEndian(UInt64.self, at: base),
            last: buffer.loadLittleEndian(UInt64.self, at: base + 8)))
      }
      info.iovaRanges = ranges
    case HIOD_VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL:
      guard info.dmaAvailable == nil else {
        info.problems.append("a second DMA_AVAIL capability at offset \(offset) is ignored, as QEMU ignores it")
        return
      }
      guard offset + 12 <= buffer.count else {
        info.problems.append("DMA_AVAIL capability at offset \(offset) is truncated")
        return
      }
      info.dmaAvailable = buffer.loadLittleEndian(UInt32.self, at: offset + 8)
    case HIOD_VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION:
      info.migration = true
    default:
      break  // capabilities newer than hiodctl are skipped, as QEMU does
    }
  }
}

extension Array where Element == UInt8 {
  /// Reads a little-endian integer at a byte offset the caller has bounds-checked.
  func loadLittleEndian<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
    precondition(offset >= 0 && offset + MemoryLayout<T>.size <= count, "caller checks bounds")
    var value: T = 0
    for index in (0..<MemoryLayout<T>.size).reversed() {
      value = value << 8 | T(self[offset + index])
    }
    return value
  }
}
