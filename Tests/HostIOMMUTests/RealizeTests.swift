// hiodctl tests — the backends against a scripted kernel: call order, teardown, and
// every errno turned into its diagnosis.
// SPDX-License-Identifier: GPL-2.0-or-later

import CHIODShim
import Foundation
import Glibc
import SystemPackage
import Testing

@testable import HostIOMMU

struct RealizeTests {
  static let fixture = "synthetic/intel-host"

  static func realize(
    _ bdf: String, backend: BackendChoice, kernel: ScriptedKernel
  ) throws -> DeviceRealization {
    let host = try Fixtures.scan(fixture)
    let realizer = HostIOMMURealizer(root: try Fixtures.root(fixture), kernel: kernel)
    let device = try #require(host.devices.first { $0.address.description == bdf })
    return realizer.realize(device, in: host, backend: backend)
  }

  // SAFETY (the scripts in this file): each request's pointer is the uapi struct the
  // product passes for it, bound to that type (see KernelAnswers), or VFIO_IOMMU_GET_INFO's
  // argsz-byte buffer, whose u32 argsz is at offset 0 and flags at 4.

  /// The legacy script: viable group, TYPE1v2, the rig's GET_INFO answer.
  static func legacyScript(_ request: ScriptedKernel.Request) -> Result<Int32, Errno>? {
    switch request.request {
    case HIOD_VFIO_GROUP_GET_STATUS:
      KernelAnswers.viable(request)
      return .success(0)
    case HIOD_VFIO_CHECK_EXTENSION: return .success(1)
    case HIOD_VFIO_IOMMU_GET_INFO:
      KernelAnswers.type1Info(request)
      return .success(0)
    default: return nil
    }
  }

  @Test func legacyFollowsQEMUsSequenceAndUndoesIt() throws {
    let kernel = ScriptedKernel(script: Self.legacyScript)
    let result = try Self.realize("0000:00:02.0", backend: .legacy, kernel: kernel)
    let device = try #require(result.hostIOMMUDevice)
    #expect(device.backend == .legacy && device.awBits == 39)
    #expect(device.pageSizeMask?.value == 0x4020_1000)
    #expect(device.legacy?.dmaMappingsAvailable == 65535)
    #expect(device.notes.isEmpty)
    #expect(
      kernel.log == [
        "open /dev/vfio/1",
        "VFIO_GROUP_GET_STATUS /dev/vfio/1",
        "open /dev/vfio/vfio",
        "VFIO_GET_API_VERSION /dev/vfio/vfio",
        "VFIO_CHECK_EXTENSION /dev/vfio/vfio 3",
        "VFIO_GROUP_SET_CONTAINER /dev/vfio/1",
        "VFIO_SET_IOMMU /dev/vfio/vfio 3",
        "VFIO_IOMMU_GET_INFO /dev/vfio/vfio",  // asks for 88 bytes
        "VFIO_IOMMU_GET_INFO /dev/vfio/vfio",
        "VFIO_CHECK_EXTENSION /dev/vfio/vfio 9",
        "VFIO_GROUP_UNSET_CONTAINER /dev/vfio/1",
        "close /dev/vfio/vfio",
        "close /dev/vfio/1",
      ])
    #expect(kernel.openDescriptors.isEmpty)
  }

  @Test func aBusyGroupNamesItselfAndFallsBackToThePrediction() throws {
    let kernel = ScriptedKernel(failOpen: ["/dev/vfio/1": .resourceBusy])
    let result = try Self.realize("0000:00:02.0", backend: .legacy, kernel: kernel)
    let failure = try #require(result.primaryFailure)
    #expect(failure.problem == .busy && failure.errno == .resourceBusy && failure.step == "open /dev/vfio/1")
    #expect(failure.message.hasPrefix("/dev/vfio/1 is busy"))
    #expect(result.hostIOMMUDevice?.backend == .sysfs && result.hostIOMMUDevice?.awBits == 39)
    #expect(!result.isDetermined)
    #expect(kernel.openDescriptors.isEmpty)
  }

  @Test func aGroupSysfsShowsNotViableIsNeverOpened() throws {
    let kernel = ScriptedKernel()
    let result = try Self.realize("0000:00:04.0", backend: .legacy, kernel: kernel)
    let failure = try #require(result.primaryFailure)
    #expect(failure.problem == .groupNotViable && failure.step == "sysfs")
    #expect(failure.message == "group 3 is not viable: 0000:00:04.1 is bound to e1000e")
    // list's advice (ViabilityAdvice); QEMU's own hint is the check's qemu_hint.
    #expect(
      failure.hints == [
        "bind every device of group 3 to vfio-pci or unbind it, e.g. driverctl set-override 0000:00:04.1 vfio-pci"
      ])
    #expect(kernel.log.isEmpty)
  }

  /// The kernel can still say not viable when sysfs looked fine (a driver bound a
  /// sibling between the scan and the open).
  @Test func notViableFromTheKernel() throws {
    let kernel = ScriptedKernel { $0.request == HIOD_VFIO_GROUP_GET_STATUS ? .success(0) : nil }
    let result = try Self.realize("0000:00:02.0", backend: .legacy, kernel: kernel)
    let failure = try #require(result.primaryFailure)
    #expect(failure.problem == .groupNotViable && failure.step == "VFIO_GROUP_GET_STATUS")
    #expect(failure.message == "group 1 is not viable")
    #expect(kernel.log == ["open /dev/vfio/1", "VFIO_GROUP_GET_STATUS /dev/vfio/1", "close /dev/vfio/1"])
  }

  @Test func noMSIIsolationStillDetachesTheGroup() throws {
    let kernel = ScriptedKernel { request in
      request.request == HIOD_VFIO_SET_IOMMU ? .failure(.notPermitted) : Self.legacyScript(request)
    }
    let result = try Self.realize("0000:00:02.0", backend: .legacy, kernel: kernel)
    let failure = try #require(result.primaryFailure)
    #expect(failure.problem == .noMSIIsolation && failure.step == "VFIO_SET_IOMMU")
    #expect(failure.hints.contains { $0.contains("vfio_iommu_type1.allow_unsafe_interrupts=1") })
    #expect(
      Array(kernel.log.suffix(3)) == [
        "VFIO_GROUP_UNSET_CONTAINER /dev/vfio/1", "close /dev/vfio/vfio", "close /dev/vfio/1",
      ])
    #expect(kernel.openDescriptors.isEmpty)
  }

  @Test(arguments: [
    (Errno.permissionDenied, DeviceProblem.permissionDenied),
    (.noSuchFileOrDirectory, .notBoundToVFIO),
    (.ioError, .kernelRefused),
  ])
  func openGroupErrors(_ errno: Errno, _ problem: DeviceProblem) throws {
    let kernel = ScriptedKernel(failOpen: ["/dev/vfio/1": errno])
    let result = try Self.realize("0000:00:02.0", backend: .legacy, kernel: kernel)
    #expect(result.primaryFailure?.problem == problem)
    #expect(result.primaryFailure?.errno == errno)
  }

  @Test func setContainerEPERMOnAViableGroupMeansAnotherOwner() throws {
    let kernel = ScriptedKernel { request in
      request.request == HIOD_VFIO_GROUP_SET_CONTAINER ? .failure(.notPermitted) : Self.legacyScript(request)
    }
    let result = try Self.realize("0000:00:02.0", backend: .legacy, kernel: kernel)
    #expect(result.primaryFailure?.problem == .busy)
    #expect(!kernel.log.contains("VFIO_GROUP_UNSET_CONTAINER /dev/vfio/1"))
    #expect(kernel.openDescriptors.isEmpty)
  }

  @Test func aKernelThatKeepsAskingForMoreIsCutOff() throws {
    let kernel = ScriptedKernel { request in
      guard request.request == HIOD_VFIO_IOMMU_GET_INFO else { return Self.legacyScript(request) }
      let asked = request.pointer!.load(as: UInt32.self)
      request.pointer!.storeBytes(of: asked + 8, as: UInt32.self)  // always 8 more
      return .success(0)
    }
    let result = try Self.realize("0000:00:02.0", backend: .legacy, kernel: kernel)
    // Four tries, then it parses what it has: no capabilities, 64 bits, and says so.
    #expect(kernel.log.filter { $0.hasPrefix("VFIO_IOMMU_GET_INFO") }.count == 4)
    #expect(result.hostIOMMUDevice?.awBits == 64)
    #expect(result.hostIOMMUDevice?.notes.contains { $0.contains("kept asking for a larger buffer") } == true)
    #expect(kernel.log.contains("VFIO_GROUP_UNSET_CONTAINER /dev/vfio/1"))
  }

  /// The iommufd script: bind → devid 1, VT-d hw_info, IOAS 2, nesting refused, HWPT 3.
  static func iommufdScript(_ request: ScriptedKernel.Request) -> Result<Int32, Errno>? {
    switch request.request {
    case HIOD_VFIO_DEVICE_BIND_IOMMUFD:
      request.pointer!.assumingMemoryBound(to: hiod_vfio_device_bind_iommufd.self).pointee.out_devid = 1
      return .success(0)
    case HIOD_IOMMU_GET_HW_INFO:
      KernelAnswers.vtdHardwareInfo(request)
      return .success(0)
    case HIOD_IOMMU_IOAS_ALLOC:
      request.pointer!.assumingMemoryBound(to: hiod_iommu_ioas_alloc.self).pointee.out_ioas_id = 2
      return .success(0)
    case HIOD_IOMMU_HWPT_ALLOC:
      let hwpt = request.pointer!.assumingMemoryBound(to: hiod_iommu_hwpt_alloc.self)
      if hwpt.pointee.flags & UInt32(HIOD_IOMMU_HWPT_ALLOC_NEST_PARENT) != 0 { return .failure(.notSupported) }
      hwpt.pointee.out_hwpt_id = 3
      return .success(0)
    case HIOD_IOMMU_IOAS_IOVA_RANGES:
      return KernelAnswers.iovaRanges(request)
    default:
      return nil
    }
  }

  @Test func iommufdFollowsQEMUsSequenceAndDestroysEverything() throws {
    let kernel = ScriptedKernel(script: Self.iommufdScript)
    let result = try Self.realize("0000:00:02.0", backend: .iommufd, kernel: kernel)
    let device = try #require(result.hostIOMMUDevice)
    #expect(device.backend == .iommufd && device.awBits == 39 && device.pageSizeMask?.value == 4096)
    #expect(device.caps.type?.value == .intelVTd)
    #expect(
      device.caps.vendor?.value == .intelVTd(flags: 1, capability: 0x00d2_008c_2226_0286, extendedCapability: 0xf0_0f4a)
    )
    #expect(device.nestingParent?.allowed == false && device.nestingParent?.refusal == .notSupported)
    #expect(device.iommufd == IOMMUFDObjects(deviceID: 1, ioasID: 2, hwptID: 3, hwptFlags: 0))
    #expect(device.getCap(.iommuType) == .value(1, Provenance(.iommufd, "IOMMU_GET_HW_INFO: out_data_type")))
    #expect(
      kernel.log == [
        "open /dev/iommu",
        "open /dev/vfio/devices/vfio0",
        "VFIO_DEVICE_BIND_IOMMUFD /dev/vfio/devices/vfio0",
        "IOMMU_GET_HW_INFO /dev/iommu",
        "IOMMU_IOAS_ALLOC /dev/iommu",
        "IOMMU_HWPT_ALLOC /dev/iommu -> EOPNOTSUPP",  // the nesting-parent probe
        "IOMMU_HWPT_ALLOC /dev/iommu",
        "VFIO_DEVICE_ATTACH_IOMMUFD_PT /dev/vfio/devices/vfio0",
        "IOMMU_IOAS_IOVA_RANGES /dev/iommu -> EMSGSIZE",
        "IOMMU_IOAS_IOVA_RANGES /dev/iommu",
        "VFIO_DEVICE_DETACH_IOMMUFD_PT /dev/vfio/devices/vfio0",
        "IOMMU_DESTROY /dev/iommu",  // the HWPT
        "IOMMU_DESTROY /dev/iommu",  // the IOAS
        "close /dev/vfio/devices/vfio0",
        "close /dev/iommu",
      ])
    #expect(kernel.openDescriptors.isEmpty)
  }

  @Test func anAllowedNestingParentIsDestroyedAtOnce() throws {
    let kernel = ScriptedKernel { request in
      if request.request == HIOD_IOMMU_HWPT_ALLOC {
        let hwpt = request.pointer!.assumingMemoryBound(to: hiod_iommu_hwpt_alloc.self)
        hwpt.pointee.out_hwpt_id = hwpt.pointee.flags == UInt32(HIOD_IOMMU_HWPT_ALLOC_NEST_PARENT) ? 7 : 3
        return .success(0)
      }
      return Self.iommufdScript(request)
    }
    let result = try Self.realize("0000:00:02.0", backend: .iommufd, kernel: kernel)
    #expect(result.hostIOMMUDevice?.nestingParent?.allowed == true)
    #expect(kernel.log.filter { $0.hasPrefix("IOMMU_DESTROY") }.count == 3)
  }

  @Test(arguments: [
    (Errno.resourceBusy, "0000:00:02.0", DeviceProblem.busy),
    (.invalidArgument, "0000:00:02.0", .busy),
    (.notPermitted, "0000:00:02.0", .noMSIIsolation),
  ])
  func bindErrors(_ errno: Errno, _ bdf: String, _ problem: DeviceProblem) throws {
    let kernel = ScriptedKernel { request in
      request.request == HIOD_VFIO_DEVICE_BIND_IOMMUFD ? .failure(errno) : Self.iommufdScript(request)
    }
    let result = try Self.realize(bdf, backend: .iommufd, kernel: kernel)
    #expect(result.primaryFailure?.problem == problem)
    #expect(result.primaryFailure?.step == "VFIO_DEVICE_BIND_IOMMUFD")
    #expect(kernel.openDescriptors.isEmpty)
  }

  @Test func aFailedAttachDestroysWhatWasAllocatedAndDoesNotDetach() throws {
    let kernel = ScriptedKernel { request in
      request.request == HIOD_VFIO_DEVICE_ATTACH_IOMMUFD_PT ? .failure(.invalidArgument) : Self.iommufdScript(request)
    }
    let result = try Self.realize("0000:00:02.0", backend: .iommufd, kernel: kernel)
    #expect(result.primaryFailure?.step == "VFIO_DEVICE_ATTACH_IOMMUFD_PT")
    #expect(!kernel.log.contains { $0.hasPrefix("VFIO_DEVICE_DETACH") })
    #expect(
      Array(kernel.log.suffix(4)) == [
        "IOMMU_DESTROY /dev/iommu", "IOMMU_DESTROY /dev/iommu",
        "close /dev/vfio/devices/vfio0", "close /dev/iommu",
      ])
  }

  /// QEMU's hint says 4K, but it sets qemu_real_host_page_size(): 16K or 64K on such
  /// arm64 and ppc64 hosts.
  @Test(arguments: [(4096, "4K"), (16384, "16K"), (65536, "64K")])
  func iovaRangesFailureTakesQEMUsFallback(_ pageSize: Int, _ name: String) throws {
    let kernel = ScriptedKernel(hostPageSize: pageSize) { request in
      request.request == HIOD_IOMMU_IOAS_IOVA_RANGES
        ? .failure(.inappropriateIOCTLForDevice) : Self.iommufdScript(request)
    }
    let device = try #require(try Self.realize("0000:00:02.0", backend: .iommufd, kernel: kernel).hostIOMMUDevice)
    #expect(device.awBits == 64 && device.pageSizeMask?.value == UInt64(pageSize))
    #expect(device.iovaRanges?.value == [IOVARange(start: 0, last: .max)])
    #expect(device.pageSizeMask?.provenance == Provenance(.iommufd, "QEMU's fallback (the host page size, \(name))"))
    #expect(
      device.notes.contains {
        $0
          == """
          Cannot get IOVA ranges (ENOTTY): \
          QEMU falls back to the default 64-bit IOVA range and the host page size (\(name))
          """
      })
  }

  /// Without VFIO_IOMMU_INFO_PGSIZES the legacy backend takes the host page size too.
  @Test func legacyWithoutPageSizesTakesTheHostPageSize() throws {
    let kernel = ScriptedKernel(hostPageSize: 65536) { request in
      guard request.request == HIOD_VFIO_IOMMU_GET_INFO else { return Self.legacyScript(request) }
      request.pointer!.storeBytes(of: UInt32(0), toByteOffset: 4, as: UInt32.self)  // flags: no PGSIZES, no CAPS
      return .success(0)
    }
    let device = try #require(try Self.realize("0000:00:02.0", backend: .legacy, kernel: kernel).hostIOMMUDevice)
    #expect(device.pageSizeMask == Sourced(65536, Provenance(.legacy, "host page size (no VFIO_IOMMU_INFO_PGSIZES)")))
  }

  /// The real kernel's page size is sysconf's.
  @Test func theLinuxKernelsPageSizeIsSysconfs() {
    #expect(LinuxKernel().hostPageSize == Int(sysconf(Int32(_SC_PAGESIZE))))
  }

  @Test func autoNeverOpensTheDevice() throws {
    // The legacy container reads what the checks need without the device fd; iommufd's
    // bind would open the device, and the kernel resets it.
    let kernel = ScriptedKernel(failOpen: ["/dev/vfio/1": .resourceBusy])
    let result = try Self.realize("0000:00:02.0", backend: .auto, kernel: kernel)
    #expect(result.attempts.map(\.backend) == [.legacy, .sysfs])
    #expect(result.attempts.map { $0.failure?.problem } == [.busy, nil])
    #expect(
      result.attempts[0].reason == "auto: /dev/vfio/1 exists; the legacy container does not open (or reset) the device")
    #expect(result.hostIOMMUDevice?.backend == .sysfs && !result.isDetermined)
  }

  @Test func autoAsksIOMMUFDFirstOnlyWhenTheCheckNeedsHardwareInfo() throws {
    let kernel = ScriptedKernel(failOpen: ["/dev/iommu": .permissionDenied, "/dev/vfio/1": .resourceBusy])
    let root = try Fixtures.root("synthetic/intel-host")
    let host = try HostInventory.scan(root)
    let device = try #require(host.devices.first { $0.address.description == "0000:00:02.0" })
    let result = HostIOMMURealizer(root: root, kernel: kernel).realize(
      device, in: host, backend: .auto, preferIOMMUFD: true)
    #expect(result.attempts.map(\.backend) == [.iommufd, .legacy, .sysfs])
    #expect(result.attempts.map { $0.failure?.problem } == [.permissionDenied, .busy, nil])
    #expect(result.attempts[0].reason == "auto: the check needs IOMMU_GET_HW_INFO, which only iommufd answers")
  }

  @Test func autoOnAHostDriverDeviceSaysWhyAndPredicts() throws {
    let kernel = ScriptedKernel()
    let result = try Self.realize("0000:00:03.0", backend: .auto, kernel: kernel)
    #expect(result.primaryFailure?.problem == .notBoundToVFIO)
    #expect(result.primaryFailure?.message == "0000:00:03.0 is not bound to a VFIO driver: it is bound to e1000e")
    #expect(result.hostIOMMUDevice?.backend == .sysfs)
    #expect(kernel.log.isEmpty)  // nothing was opened
  }

  @Test func sysfsOnlyTouchesNoNode() throws {
    let kernel = ScriptedKernel()
    let result = try Self.realize("0000:00:02.0", backend: .sysfs, kernel: kernel)
    #expect(result.isDetermined && result.attempts.count == 1 && kernel.log.isEmpty)
  }
}

struct ProcessHoldersTests {
  @Test func namesTheProcessHoldingANode() throws {
    let scratch = ScratchDirectory()
    scratch.write("proc/4242/comm", Array("qemu-system-x86\n".utf8))
    scratch.write("proc/77/comm", Array("bash\n".utf8))
    scratch.write("proc/cpuinfo", [])
    _ = symlinkAt("/dev/vfio/2", "\(scratch.path)/proc/4242/fd/17")
    _ = symlinkAt("/dev/null", "\(scratch.path)/proc/77/fd/0")
    let root = try SystemRoot(validating: scratch.path)
    #expect(ProcessHolders.describe("/dev/vfio/2", in: root) == "/dev/vfio/2 is held by pid 4242 (qemu-system-x86)")
    #expect(ProcessHolders.describe("/dev/vfio/3", in: root).hasPrefix("no process has /dev/vfio/3 open"))
  }
}

/// The iommufd bind resets the device (vfio_pci_core_enable, and again on close): a reset
/// that reaches past the function is refused before anything is opened, unless forced.
struct DeviceResetTests {
  /// The synthetic intel host, copied, with `reset_method` of 0000:00:02.0 set to `methods`.
  static func tree(resetMethod methods: String) throws -> SystemRoot {
    let copy = FileManager.default.temporaryDirectory.appendingPathComponent("hiod-reset-\(UUID().uuidString)")
    try FileManager.default.copyItem(atPath: Fixtures.path("synthetic/intel-host"), toPath: copy.path)
    try (methods + "\n").write(
      toFile: copy.path + "/sys/devices/pci0000:00/0000:00:02.0/reset_method", atomically: false, encoding: .utf8)
    return try SystemRoot(validating: copy.path)
  }

  static func realize(_ root: SystemRoot, kernel: ScriptedKernel, allowBusReset: Bool) throws -> DeviceRealization {
    let host = try HostInventory.scan(root)
    let device = try #require(host.devices.first { $0.address.description == "0000:00:02.0" })
    return HostIOMMURealizer(root: root, kernel: kernel, allowBusReset: allowBusReset)
      .realize(device, in: host, backend: .iommufd)
  }

  @Test func aBusResetIsRefusedBeforeAnythingIsOpened() throws {
    let root = try Self.tree(resetMethod: "bus")
    defer { try? FileManager.default.removeItem(atPath: root.path) }
    let kernel = ScriptedKernel(script: RealizeTests.iommufdScript)
    let result = try Self.realize(root, kernel: kernel, allowBusReset: false)
    let failure = try #require(result.primaryFailure)
    #expect(failure.problem == .busResetRefused && failure.step == "reset_method")
    #expect(result.attempts.first?.reset == DeviceReset(methods: ["bus"]))
    #expect(result.hostIOMMUDevice?.backend == .sysfs)
    #expect(!kernel.log.contains { $0.hasPrefix("open") }, "\(kernel.log)")
  }

  @Test func forcedTheBusResetBinds() throws {
    let root = try Self.tree(resetMethod: "bus")
    defer { try? FileManager.default.removeItem(atPath: root.path) }
    let kernel = ScriptedKernel(script: RealizeTests.iommufdScript)
    let result = try Self.realize(root, kernel: kernel, allowBusReset: true)
    #expect(result.hostIOMMUDevice?.backend == .iommufd)
    #expect(kernel.log.contains("VFIO_DEVICE_BIND_IOMMUFD /dev/vfio/devices/vfio0"))
  }

  @Test func aFunctionLevelResetBindsAndIsAnnounced() throws {
    let root = try Self.tree(resetMethod: "flr bus")
    defer { try? FileManager.default.removeItem(atPath: root.path) }
    let kernel = ScriptedKernel(script: RealizeTests.iommufdScript)
    let result = try Self.realize(root, kernel: kernel, allowBusReset: false)
    #expect(result.hostIOMMUDevice?.backend == .iommufd)
    let reset = try #require(result.attempts.first?.reset)
    #expect(reset.method == "flr" && !reset.reachesBeyondFunction)
    let device = try #require(result.device as PCIDevice?)
    #expect(
      reset.notice(for: device)
        == """
        0000:00:02.0: the iommufd bind opens the device, and the kernel resets it on open and again on close \
        (reset_method: flr bus; the kernel uses flr)
        """
    )
  }

  /// The default paths never bind: auto goes through the legacy container.
  @Test func autoNeverBinds() throws {
    let root = try Self.tree(resetMethod: "flr")
    defer { try? FileManager.default.removeItem(atPath: root.path) }
    let host = try HostInventory.scan(root)
    let device = try #require(host.devices.first { $0.address.description == "0000:00:02.0" })
    let kernel = ScriptedKernel(script: RealizeTests.legacyScript)
    let realizer = HostIOMMURealizer(root: root, kernel: kernel)
    let result = realizer.realize(device, in: host, backend: .auto)
    #expect(result.hostIOMMUDevice?.backend == .legacy)
    #expect(!kernel.log.contains { $0.contains("/dev/vfio/devices/") || $0.contains("/dev/iommu") }, "\(kernel.log)")
    #expect(realizer.reset(for: device, in: host, backend: .auto) == nil)
  }
}
