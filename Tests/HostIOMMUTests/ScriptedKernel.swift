// hiodctl tests — a kernel whose answers a test scripts, recording every call.
// SPDX-License-Identifier: GPL-2.0-or-later

import CHIODShim
import Foundation
import Synchronization
import SystemPackage
import Testing

@testable import HostIOMMU

/// Stands in for the kernel at the one seam the backends use. Each test scripts the
/// ioctls it cares about; unscripted ioctls succeed with 0. The log reads like strace.
///
/// Every call is also checked against the uapi, as the kernel would check it: argsz or
/// size is the struct size include/uapi/linux/{vfio,iommufd}.h defines for the request,
/// reserved and padding fields and unused inputs are zero, descriptors passed by number
/// are open and of the right kind. A call that breaks a rule records a test issue (and
/// is still answered, so the test's own expectations run too).
final class ScriptedKernel: KernelInterface, DescriptorCloser {
  struct Request {
    let path: String
    let request: Int
    let pointer: UnsafeMutableRawPointer?
    let value: Int32
    /// How many calls of this request came before this one (0 for the first).
    let callIndex: Int
  }

  typealias Script = @Sendable (Request) -> Result<Int32, Errno>?

  private struct State {
    var nextDescriptor: Int32 = 3
    var open: [Int32: String] = [:]
    var log: [String] = []
    var failOpen: [String: Errno] = [:]
    var failFirstOpen: [String: Errno] = [:]
    var opens: [String: Int] = [:]
    var calls: [Int: Int] = [:]
    /// The argsz the next VFIO_IOMMU_GET_INFO must carry: the struct size, or the
    /// larger size the kernel asked for in its last answer.
    var type1InfoArgsz = Type1InfoParser.headerSize
    var argumentProblems: [String] = []
  }

  private let state = Mutex(State())
  private let script: Script
  let hostPageSize: Int

  /// `failOpen`: opens that always fail; `failFirstOpen`: opens whose first attempt
  /// fails (EINTR, to see it made again); `hostPageSize`: what sysconf(_SC_PAGESIZE)
  /// says (4K unless a test plays an arm64 or ppc64 host).
  init(
    failOpen: [String: Errno] = [:], failFirstOpen: [String: Errno] = [:], hostPageSize: Int = 4096,
    script: @escaping Script = { _ in nil }
  ) {
    self.script = script
    self.hostPageSize = hostPageSize
    state.withLock {
      $0.failOpen = failOpen
      $0.failFirstOpen = failFirstOpen
    }
  }

  /// The calls made, e.g. "open /dev/vfio/1", "VFIO_GROUP_GET_STATUS /dev/vfio/1".
  var log: [String] { state.withLock { $0.log } }
  /// Descriptors still open: must be empty after every realize.
  var openDescriptors: [String] { state.withLock { Array($0.open.values) } }
  /// The uapi rules the calls broke (each also recorded as a test issue).
  var argumentProblems: [String] { state.withLock { $0.argumentProblems } }

  func attemptOpen(_ path: String, flags: Int32) throws(Errno) -> OwnedDescriptor {
    let outcome: Result<Int32, Errno> = state.withLock { state in
      let hostPath = Self.hostPath(path)
      let attempt = state.opens[hostPath, default: 0]
      state.opens[hostPath] = attempt + 1
      if let errno = state.failOpen[hostPath] ?? (attempt == 0 ? state.failFirstOpen[hostPath] : nil) {
        state.log.append("open \(hostPath) -> \(errno.symbol)")
        return .failure(errno)
      }
      state.log.append("open \(hostPath)")
      let descriptor = state.nextDescriptor
      state.nextDescriptor += 1
      state.open[descriptor] = hostPath
      return .success(descriptor)
    }
    // The numbers are made up: the owner closes them here, never through close(2).
    return OwnedDescriptor(adopting: try outcome.get(), closer: self)
  }

  func closeDescriptor(_ descriptor: Int32) {
    state.withLock { state in
      let path = state.open.removeValue(forKey: descriptor) ?? "unknown fd \(descriptor)"
      state.log.append("close \(path)")
    }
  }

  func attemptIoctl(_ descriptor: borrowing OwnedDescriptor, _ request: UInt, _ argument: UnsafeMutableRawPointer)
    throws(Errno) -> Int32
  {
    try perform(descriptor.rawValue, Int(request), pointer: argument, value: 0).get()
  }

  func attemptIoctl(_ descriptor: borrowing OwnedDescriptor, _ request: UInt, value: Int32) throws(Errno) -> Int32 {
    try perform(descriptor.rawValue, Int(request), pointer: nil, value: value).get()
  }

  func isCharacterDevice(_ path: String) -> Result<Bool, Errno> { .success(true) }

  private func perform(_ descriptor: Int32, _ request: Int, pointer: UnsafeMutableRawPointer?, value: Int32)
    -> Result<Int32, Errno>
  {
    let (path, callIndex) = state.withLock { state in
      let index = state.calls[request, default: 0]
      state.calls[request] = index + 1
      return (state.open[descriptor], index)
    }
    let name = Self.names[request] ?? "ioctl \(request)"
    var problems = path == nil ? ["\(name) on fd \(descriptor), which is not open"] : []
    problems += checkArguments(request, pointer: pointer, value: value, path: path ?? "")
    for problem in problems {
      Issue.record(Comment(rawValue: "uapi: \(problem)"))
    }
    let shownPath = path ?? "fd \(descriptor)"
    let outcome =
      script(Request(path: shownPath, request: request, pointer: pointer, value: value, callIndex: callIndex))
      ?? .success(0)
    state.withLock { state in
      state.argumentProblems += problems
      if request == HIOD_VFIO_IOMMU_GET_INFO, let pointer, case .success = outcome {
        // What the kernel answered decides the next call's argsz.
        // SAFETY: the buffer starts with its u32 argsz (checked above) and is the
        // product's, alive for the duration of this ioctl.
        let sent = state.type1InfoArgsz
        let wanted = Int(pointer.load(as: UInt32.self))
        state.type1InfoArgsz = wanted > sent ? wanted : Type1InfoParser.headerSize
      }
      var entry = "\(name) \(shownPath)"
      if pointer == nil && (request == HIOD_VFIO_CHECK_EXTENSION || request == HIOD_VFIO_SET_IOMMU) {
        entry += " \(value)"
      }
      if case .failure(let errno) = outcome { entry += " -> \(errno.symbol)" }
      state.log.append(entry)
    }
    return outcome
  }

  /// The kernel's rules for the arguments of `request`, as include/uapi/linux/vfio.h
  /// and iommufd.h state them; returns what was broken.
  private func checkArguments(_ request: Int, pointer: UnsafeMutableRawPointer?, value: Int32, path: String)
    -> [String]
  {
    let name = Self.names[request] ?? "ioctl \(request)"
    var problems: [String] = []
    func expect(_ condition: Bool, _ problem: @autoclosure () -> String) {
      if !condition { problems.append("\(name): \(problem())") }
    }
    let byValue: Set<Int> = [
      HIOD_VFIO_GET_API_VERSION, HIOD_VFIO_CHECK_EXTENSION, HIOD_VFIO_SET_IOMMU, HIOD_VFIO_GROUP_UNSET_CONTAINER,
    ]
    guard Self.names[request] != nil else { return ["unknown ioctl \(request)"] }
    if byValue.contains(request) {
      expect(pointer == nil, "takes its argument by value, not a pointer")
      switch request {
      case HIOD_VFIO_CHECK_EXTENSION:
        expect(
          [HIOD_VFIO_TYPE1_IOMMU, HIOD_VFIO_TYPE1v2_IOMMU, HIOD_VFIO_UNMAP_ALL].contains(Int(value)),
          "extension \(value) is not one hiodctl asks about")
      case HIOD_VFIO_SET_IOMMU:
        expect([HIOD_VFIO_TYPE1_IOMMU, HIOD_VFIO_TYPE1v2_IOMMU].contains(Int(value)), "IOMMU type \(value)")
      default:
        expect(value == 0, "takes no argument, got \(value)")
      }
      return problems
    }
    guard let pointer else { return ["\(name): needs a pointer argument"] }
    // SAFETY: each case reads the uapi struct the request takes; the product passes that
    // struct (or, for VFIO_IOMMU_GET_INFO, a buffer at least argsz long), which is what
    // is being checked: a wrong size shows up in the size field read first.
    func size<T>(_ type: T.Type) -> UInt32 { UInt32(MemoryLayout<T>.size) }
    switch request {
    case HIOD_VFIO_GROUP_GET_STATUS:
      let status = pointer.load(as: hiod_vfio_group_status.self)
      expect(status.argsz == size(hiod_vfio_group_status.self), "argsz \(status.argsz), not 8")
      expect(status.flags == 0, "flags (an output) is \(status.flags) on input")
      expect(path.hasPrefix("/dev/vfio/") && Int(path.dropFirst(10)) != nil, "issued on \(path), not a group")
    case HIOD_VFIO_GROUP_SET_CONTAINER:
      let container = pointer.load(as: Int32.self)
      let target = state.withLock { $0.open[container] }
      expect(target == LegacyVFIORealizer.containerPath, "container fd \(container) is \(target ?? "not open")")
    case HIOD_VFIO_IOMMU_GET_INFO:
      let argsz = Int(pointer.load(as: UInt32.self))
      let expected = state.withLock { $0.type1InfoArgsz }
      expect(argsz == expected, "argsz \(argsz), not \(expected) (24, or what the kernel last asked for)")
      // SAFETY: argsz is the buffer's own length (what the product allocated and said);
      // a product that lied about it is what the check above reports.
      let rest = UnsafeRawBufferPointer(start: pointer + 4, count: max(0, argsz - 4))
      expect(rest.allSatisfy { $0 == 0 }, "the buffer after argsz is not zeroed")
    case HIOD_VFIO_DEVICE_BIND_IOMMUFD:
      let bind = pointer.load(as: hiod_vfio_device_bind_iommufd.self)
      expect(bind.argsz == size(hiod_vfio_device_bind_iommufd.self), "argsz \(bind.argsz), not 16")
      expect(bind.flags == 0, "flags \(bind.flags)")
      expect(bind.out_devid == 0, "out_devid \(bind.out_devid) on input")
      let target = state.withLock { $0.open[bind.iommufd] }
      expect(target == IOMMUFDRealizer.iommufdPath, "iommufd \(bind.iommufd) is \(target ?? "not open")")
    case HIOD_VFIO_DEVICE_ATTACH_IOMMUFD_PT:
      let attach = pointer.load(as: hiod_vfio_device_attach_iommufd_pt.self)
      expect(attach.argsz == size(hiod_vfio_device_attach_iommufd_pt.self), "argsz \(attach.argsz), not 12")
      expect(attach.flags == 0, "flags \(attach.flags)")
    case HIOD_VFIO_DEVICE_DETACH_IOMMUFD_PT:
      let detach = pointer.load(as: hiod_vfio_device_detach_iommufd_pt.self)
      expect(detach.argsz == size(hiod_vfio_device_detach_iommufd_pt.self), "argsz \(detach.argsz), not 8")
      expect(detach.flags == 0, "flags \(detach.flags)")
    case HIOD_IOMMU_DESTROY:
      let destroy = pointer.load(as: hiod_iommu_destroy.self)
      expect(destroy.size == size(hiod_iommu_destroy.self), "size \(destroy.size), not 8")
    case HIOD_IOMMU_IOAS_ALLOC:
      let alloc = pointer.load(as: hiod_iommu_ioas_alloc.self)
      expect(alloc.size == size(hiod_iommu_ioas_alloc.self), "size \(alloc.size), not 12")
      expect(alloc.flags == 0, "flags \(alloc.flags)")
      expect(alloc.out_ioas_id == 0, "out_ioas_id \(alloc.out_ioas_id) on input")
    case HIOD_IOMMU_IOAS_IOVA_RANGES:
      let ranges = pointer.load(as: hiod_iommu_ioas_iova_ranges.self)
      expect(ranges.size == size(hiod_iommu_ioas_iova_ranges.self), "size \(ranges.size), not 32")
      expect(ranges.reserved == 0, "__reserved \(ranges.reserved)")
      expect(ranges.num_iovas == 0 || ranges.allowed_iovas != 0, "num_iovas \(ranges.num_iovas) without an array")
      expect(ranges.out_iova_alignment == 0, "out_iova_alignment \(ranges.out_iova_alignment) on input")
    case HIOD_IOMMU_HWPT_ALLOC:
      let hwpt = pointer.load(as: hiod_iommu_hwpt_alloc.self)
      let known = UInt32(HIOD_IOMMU_HWPT_ALLOC_NEST_PARENT | HIOD_IOMMU_HWPT_ALLOC_DIRTY_TRACKING)
      expect(hwpt.size == size(hiod_iommu_hwpt_alloc.self), "size \(hwpt.size), not 48")
      expect(hwpt.flags & ~known == 0, "flags \(hwpt.flags)")
      expect(hwpt.reserved == 0 && hwpt.reserved2 == 0, "__reserved \(hwpt.reserved), __reserved2 \(hwpt.reserved2)")
      expect(hwpt.data_type == UInt32(HIOD_IOMMU_HWPT_DATA_NONE), "data_type \(hwpt.data_type)")
      expect(hwpt.data_len == 0 && hwpt.data_uptr == 0, "data_len \(hwpt.data_len) / data_uptr for a paging HWPT")
      expect(hwpt.fault_id == 0, "fault_id \(hwpt.fault_id) without IOMMU_HWPT_FAULT_ID_VALID")
      expect(hwpt.out_hwpt_id == 0, "out_hwpt_id \(hwpt.out_hwpt_id) on input")
    case HIOD_IOMMU_GET_HW_INFO:
      let info = pointer.load(as: hiod_iommu_hw_info.self)
      expect(info.size == size(hiod_iommu_hw_info.self), "size \(info.size), not 40")
      expect(info.flags == 0, "flags \(info.flags)")
      expect(info.data_len == UInt32(HIOD_IOMMU_HW_INFO_VENDOR_MAX), "data_len \(info.data_len), not 40")
      expect(info.data_uptr != 0, "no vendor buffer")
      expect(info.out_data_type == 0, "in_data_type \(info.out_data_type) without IOMMU_HW_INFO_FLAG_INPUT_TYPE")
      expect(info.out_max_pasid_log2 == 0, "out_max_pasid_log2 \(info.out_max_pasid_log2) on input")
      expect(info.reserved == (0, 0, 0), "__reserved \(info.reserved)")
      expect(info.out_capabilities == 0, "out_capabilities \(info.out_capabilities) on input")
    default:
      break
    }
    return problems
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
  // SAFETY (every answer below): `request.pointer` is the argument the product passed
  // for that request: a hiod_uapi.h struct of that very type, taken with
  // withUnsafeMutableBytes(of:) and so bound to it, or for VFIO_IOMMU_GET_INFO a zeroed
  // byte buffer of argsz bytes. The user pointers inside the structs (data_uptr,
  // allowed_iovas) are the product's buffers of data_len bytes / num_iovas entries,
  // alive for the ioctl; no answer writes beyond those lengths.

  /// VFIO_GROUP_GET_STATUS: viable.
  static func viable(_ request: ScriptedKernel.Request) {
    request.pointer!.assumingMemoryBound(to: hiod_vfio_group_status.self).pointee.flags =
      UInt32(HIOD_VFIO_GROUP_FLAGS_VIABLE)
  }

  /// VFIO_IOMMU_GET_INFO: first asks for 88 bytes, then fills IOVA_RANGE + DMA_AVAIL.
  static func type1Info(_ request: ScriptedKernel.Request) {
    let pointer = request.pointer!
    let size = Int(pointer.load(as: UInt32.self))
    // Fewer than 88 bytes: only the 24-byte header may be written, and is.
    guard size >= 88 else {
      pointer.storeBytes(of: UInt32(88), as: UInt32.self)
      pointer.storeBytes(
        of: UInt32(HIOD_VFIO_IOMMU_INFO_PGSIZES | HIOD_VFIO_IOMMU_INFO_CAPS), toByteOffset: 4, as: UInt32.self)
      return
    }
    var buffer = InfoBuffer(
      flags: UInt32(HIOD_VFIO_IOMMU_INFO_PGSIZES | HIOD_VFIO_IOMMU_INFO_CAPS), capOffset: 24, size: 88)
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
