// hiodctl tests — a kernel whose answers a test scripts, recording every call.
// SPDX-License-Identifier: GPL-2.0-or-later

import CHIODShim
import Foundation
import Synchronization
import SystemPackage

@testable import HostIOMMU

/// Stands in for the kernel at the one seam the backends use. Each test scripts the
/// ioctls it cares about; unscripted ioctls succeed with 0. The log reads like strace.
final class ScriptedKernel: KernelInterface {
  struct Request {
    let path: String
    let request: Int
    let pointer: UnsafeMutableRawPointer?
    let value: Int32
  }

  typealias Script = @Sendable (Request) -> Result<Int32, Errno>?

  private struct State {
    var nextDescriptor: Int32 = 3
    var open: [Int32: String] = [:]
    var log: [String] = []
    var failOpen: [String: Errno] = [:]
  }

  private let state = Mutex(State())
  private let script: Script

  init(failOpen: [String: Errno] = [:], script: @escaping Script = { _ in nil }) {
    self.script = script
    state.withLock { $0.failOpen = failOpen }
  }

  /// The calls made, e.g. "open /dev/vfio/1", "VFIO_GROUP_GET_STATUS /dev/vfio/1".
  var log: [String] { state.withLock { $0.log } }
  /// Descriptors still open: must be empty after every realize.
  var openDescriptors: [String] { state.withLock { Array($0.open.values) } }

  func open(_ path: String, flags: Int32) -> Result<Int32, Errno> {
    state.withLock { state in
      let hostPath = Self.hostPath(path)
      state.log.append("open \(hostPath)")
      if let errno = state.failOpen[hostPath] { return .failure(errno) }
      let descriptor = state.nextDescriptor
      state.nextDescriptor += 1
      state.open[descriptor] = hostPath
      return .success(descriptor)
    }
  }

  func close(_ descriptor: Int32) {
    state.withLock { state in
      let path = state.open.removeValue(forKey: descriptor) ?? "unknown fd \(descriptor)"
      state.log.append("close \(path)")
    }
  }

  func ioctl(_ descriptor: Int32, _ request: UInt, _ argument: UnsafeMutableRawPointer) -> Result<Int32, Errno> {
    perform(descriptor, Int(request), pointer: argument, value: 0)
  }

  func ioctl(_ descriptor: Int32, _ request: UInt, value: Int32) -> Result<Int32, Errno> {
    perform(descriptor, Int(request), pointer: nil, value: value)
  }

  func isCharacterDevice(_ path: String) -> Result<Bool, Errno> { .success(true) }

  private func perform(_ descriptor: Int32, _ request: Int, pointer: UnsafeMutableRawPointer?, value: Int32)
    -> Result<Int32, Errno>
  {
    let path = state.withLock { $0.open[descriptor] ?? "fd \(descriptor)" }
    let name = Self.names[request] ?? "ioctl \(request)"
    let outcome = script(Request(path: path, request: request, pointer: pointer, value: value)) ?? .success(0)
    state.withLock { state in
      var entry = "\(name) \(path)"
      if pointer == nil && (request == HIOD_VFIO_CHECK_EXTENSION || request == HIOD_VFIO_SET_IOMMU) {
        entry += " \(value)"
      }
      if case .failure(let errno) = outcome { entry += " -> \(errno.symbol)" }
      state.log.append(entry)
    }
    return outcome
  }

  /// Fixture paths come in resolved under the sysroot; the log shows host paths.
  private static func hostPath(_ path: String) -> String {
    let parts = path.components(separatedBy: "/dev/")
    return parts.count > 1 ? "/dev/" + parts.dropFirst().joined(separator: "/dev/") : path
  }

  static let names: [Int: String] = [
    HIOD_VFIO_GET_API_VERSION: "VFIO_GET_API_VERSION", HIOD_VFIO_CHECK_EXTENSION: "VFIO_CHECK_EXTENSION",
    HIOD_VFIO_SET_IOMMU: "VFIO_SET_IOMMU", HIOD_VFIO_GROUP_GET_STATUS: "VFIO_GROUP_GET_STATUS",
    HIOD_VFIO_GROUP_SET_CONTAINER: "VFIO_GROUP_SET_CONTAINER",
    HIOD_VFIO_GROUP_UNSET_CONTAINER: "VFIO_GROUP_UNSET_CONTAINER",
    HIOD_VFIO_IOMMU_GET_INFO: "VFIO_IOMMU_GET_INFO", HIOD_VFIO_DEVICE_BIND_IOMMUFD: "VFIO_DEVICE_BIND_IOMMUFD",
    HIOD_VFIO_DEVICE_ATTACH_IOMMUFD_PT: "VFIO_DEVICE_ATTACH_IOMMUFD_PT",
    HIOD_VFIO_DEVICE_DETACH_IOMMUFD_PT: "VFIO_DEVICE_DETACH_IOMMUFD_PT",
    HIOD_IOMMU_DESTROY: "IOMMU_DESTROY", HIOD_IOMMU_IOAS_ALLOC: "IOMMU_IOAS_ALLOC",
    HIOD_IOMMU_IOAS_IOVA_RANGES: "IOMMU_IOAS_IOVA_RANGES", HIOD_IOMMU_HWPT_ALLOC: "IOMMU_HWPT_ALLOC",
    HIOD_IOMMU_GET_HW_INFO: "IOMMU_GET_HW_INFO",
  ]
}

/// Kernel-shaped answers for the happy paths, as Linux 6.12 gave them on the rig.
enum KernelAnswers {
  /// VFIO_GROUP_GET_STATUS: viable.
  static func viable(_ request: ScriptedKernel.Request) {
    request.pointer!.assumingMemoryBound(to: hiod_vfio_group_status.self).pointee.flags =
      UInt32(HIOD_VFIO_GROUP_FLAGS_VIABLE)
  }

  /// VFIO_IOMMU_GET_INFO: first asks for 88 bytes, then fills IOVA_RANGE + DMA_AVAIL.
  static func type1Info(_ request: ScriptedKernel.Request) {
    let pointer = request.pointer!
    let size = Int(pointer.load(as: UInt32.self))
    guard size >= 88 else {
      pointer.storeBytes(of: UInt32(88), as: UInt32.self)
      pointer.storeBytes(of: UInt32(HIOD_VFIO_IOMMU_INFO_PGSIZES | HIOD_VFIO_IOMMU_INFO_CAPS), toByteOffset: 4, as: UInt32.self)
      return
    }
    var buffer = InfoBuffer(flags: UInt32(HIOD_VFIO_IOMMU_INFO_PGSIZES | HIOD_VFIO_IOMMU_INFO_CAPS), capOffset: 24, size: 88)
    buffer.ranges([(0, 0xfedf_ffff), (0xfef0_0000, 0x7f_ffff_ffff)], at: 24, next: 72)
    buffer.dmaAvailable(65535, at: 72, next: 0)
    buffer.bytes.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: 88) }
  }

  /// IOMMU_GET_HW_INFO: INTEL_VTD with the emulated unit's registers.
  static func vtdHardwareInfo(_ request: ScriptedKernel.Request) {
    let info = request.pointer!.assumingMemoryBound(to: hiod_iommu_hw_info.self)
    info.pointee.out_data_type = UInt32(HIOD_IOMMU_HW_INFO_TYPE_INTEL_VTD)
    info.pointee.data_len = 24
    let vendor = UnsafeMutableRawPointer(bitPattern: UInt(info.pointee.data_uptr))!
    vendor.storeBytes(of: UInt32(1), as: UInt32.self)
    vendor.storeBytes(of: UInt64(0x00d2_008c_2226_0286), toByteOffset: 8, as: UInt64.self)
    vendor.storeBytes(of: UInt64(0xf0_0f4a), toByteOffset: 16, as: UInt64.self)
  }

  /// IOMMU_IOAS_IOVA_RANGES: EMSGSIZE with the count, then the two ranges.
  static func iovaRanges(_ request: ScriptedKernel.Request) -> Result<Int32, Errno> {
    let ranges = request.pointer!.assumingMemoryBound(to: hiod_iommu_ioas_iova_ranges.self)
    ranges.pointee.out_iova_alignment = 4096
    let capacity = ranges.pointee.num_iovas
    ranges.pointee.num_iovas = 2
    guard capacity >= 2 else { return .failure(.messageTooLong) }
    let array = UnsafeMutablePointer<hiod_iommu_iova_range>(bitPattern: UInt(ranges.pointee.allowed_iovas))!
    array[0] = hiod_iommu_iova_range(start: 0, last: 0xfedf_ffff)
    array[1] = hiod_iommu_iova_range(start: 0xfef0_0000, last: 0x7f_ffff_ffff)
    return .success(0)
  }
}
