// hiodctl tests — a fault at every step of both backends: the failure each one becomes
// (step, problem, errno, message), what is undone, and that every descriptor closes.
// SPDX-License-Identifier: GPL-2.0-or-later

import CHIODShim
import SystemPackage
import Testing

@testable import HostIOMMU

/// The happy-path script with one request answered by `answer` instead (on the call
/// numbered `onCall` only, when given).
func injecting(
  _ request: Int, onCall: Int? = nil, into base: @escaping ScriptedKernel.Script,
  _ answer: @escaping @Sendable (ScriptedKernel.Request) -> Result<Int32, Errno>
) -> ScriptedKernel.Script {
  { call in
    if call.request == request && (onCall == nil || call.callIndex == onCall) { return answer(call) }
    return base(call)
  }
}

func injecting(_ request: Int, onCall: Int? = nil, into base: @escaping ScriptedKernel.Script, _ errno: Errno)
  -> ScriptedKernel.Script
{
  injecting(request, onCall: onCall, into: base) { _ in .failure(errno) }
}

// SAFETY (the scripts in this file): each request's pointer is the uapi struct the
// product passes for it (struct vfio_group_status: flags at 4; struct iommu_hwpt_alloc:
// flags at 4), or VFIO_IOMMU_GET_INFO's argsz-byte buffer (argsz at 0); only fields
// inside those structs are read or written.
struct RealizeFaultTests {
  static let device = "0000:00:02.0"
  static let groupStatusNoHolder = "no process has /dev/vfio/1 open now (it may have just exited)"

  static func legacy(_ script: @escaping ScriptedKernel.Script, failOpen: [String: Errno] = [:]) throws
    -> (DeviceRealization, ScriptedKernel)
  {
    let kernel = ScriptedKernel(failOpen: failOpen, script: script)
    let result = try RealizeTests.realize(device, backend: .legacy, kernel: kernel)
    #expect(kernel.openDescriptors.isEmpty, "every descriptor is closed")
    return (result, kernel)
  }

  static func iommufd(_ script: @escaping ScriptedKernel.Script, failOpen: [String: Errno] = [:]) throws
    -> (DeviceRealization, ScriptedKernel)
  {
    let kernel = ScriptedKernel(failOpen: failOpen, script: script)
    let result = try RealizeTests.realize(device, backend: .iommufd, kernel: kernel)
    #expect(kernel.openDescriptors.isEmpty, "every descriptor is closed")
    return (result, kernel)
  }

  /// A failed kernel backend still answers, from sysfs, and says it is a prediction.
  static func expectPrediction(_ result: DeviceRealization) {
    #expect(result.hostIOMMUDevice?.backend == .sysfs && !result.isDetermined)
  }

  // MARK: Legacy

  @Test func groupStatusRefused() throws {
    let (result, kernel) = try Self.legacy(
      injecting(HIOD_VFIO_GROUP_GET_STATUS, into: RealizeTests.legacyScript, .ioError))
    let failure = try #require(result.primaryFailure)
    #expect(failure.backend == .legacy && failure.step == "VFIO_GROUP_GET_STATUS")
    #expect(failure.problem == .kernelRefused && failure.errno == .ioError)
    #expect(failure.message == "failed to get group 1 status: Input/output error (EIO)")
    #expect(kernel.log == ["open /dev/vfio/1", "VFIO_GROUP_GET_STATUS /dev/vfio/1 -> EIO", "close /dev/vfio/1"])
    Self.expectPrediction(result)
  }

  /// The kernel sets CONTAINER_SET (and VIABLE) for a group already in a container: the
  /// group is someone else's, and the container is never opened.
  @Test func aGroupAlreadyInAContainerIsBusy() throws {
    let (result, kernel) = try Self.legacy(
      injecting(HIOD_VFIO_GROUP_GET_STATUS, into: RealizeTests.legacyScript) { request in
        request.pointer!.storeBytes(
          of: UInt32(HIOD_VFIO_GROUP_FLAGS_VIABLE | HIOD_VFIO_GROUP_FLAGS_CONTAINER_SET), toByteOffset: 4,
          as: UInt32.self)
        return .success(0)
      })
    let failure = try #require(result.primaryFailure)
    #expect(failure.step == "VFIO_GROUP_GET_STATUS" && failure.problem == .busy && failure.errno == nil)
    #expect(failure.message == "group 1 is already attached to a container")
    #expect(failure.hints == [Self.groupStatusNoHolder])
    #expect(kernel.log == ["open /dev/vfio/1", "VFIO_GROUP_GET_STATUS /dev/vfio/1", "close /dev/vfio/1"])
    Self.expectPrediction(result)
  }

  @Test func apiVersionRefused() throws {
    let (result, kernel) = try Self.legacy(
      injecting(HIOD_VFIO_GET_API_VERSION, into: RealizeTests.legacyScript, .inappropriateIOCTLForDevice))
    let failure = try #require(result.primaryFailure)
    #expect(failure.step == "VFIO_GET_API_VERSION" && failure.problem == .kernelRefused)
    #expect(failure.errno == .inappropriateIOCTLForDevice)
    #expect(failure.message == "/dev/vfio/vfio is not a VFIO container: Inappropriate ioctl for device (ENOTTY)")
    #expect(
      Array(kernel.log.suffix(3)) == [
        "VFIO_GET_API_VERSION /dev/vfio/vfio -> ENOTTY", "close /dev/vfio/vfio", "close /dev/vfio/1",
      ])
  }

  @Test func aWrongAPIVersion() throws {
    let (result, kernel) = try Self.legacy(
      injecting(HIOD_VFIO_GET_API_VERSION, into: RealizeTests.legacyScript) { _ in .success(1) })
    let failure = try #require(result.primaryFailure)
    #expect(failure.step == "VFIO_GET_API_VERSION" && failure.problem == .backendUnavailable && failure.errno == nil)
    #expect(failure.message == "supported vfio version: 0, reported version: 1")
    #expect(!kernel.log.contains { $0.hasPrefix("VFIO_CHECK_EXTENSION") || $0.hasPrefix("VFIO_GROUP_SET_CONTAINER") })
  }

  /// Neither TYPE1v2 nor TYPE1: answered 0, or refused outright.
  @Test(arguments: [Result<Int32, Errno>.success(0), .failure(.invalidArgument)])
  func noType1Model(_ answer: Result<Int32, Errno>) throws {
    let (result, kernel) = try Self.legacy(
      injecting(HIOD_VFIO_CHECK_EXTENSION, into: RealizeTests.legacyScript) { _ in answer })
    let failure = try #require(result.primaryFailure)
    #expect(failure.step == "VFIO_CHECK_EXTENSION" && failure.problem == .backendUnavailable && failure.errno == nil)
    #expect(failure.message == "No available IOMMU models: the container offers neither TYPE1v2 nor TYPE1")
    #expect(failure.hints == ["load vfio_iommu_type1 (modprobe vfio_iommu_type1)"])
    let suffix = answer == .success(0) ? "" : " -> EINVAL"
    #expect(
      kernel.log.filter { $0.hasPrefix("VFIO_CHECK_EXTENSION") } == [
        "VFIO_CHECK_EXTENSION /dev/vfio/vfio 3\(suffix)", "VFIO_CHECK_EXTENSION /dev/vfio/vfio 1\(suffix)",
      ])
    #expect(!kernel.log.contains { $0.hasPrefix("VFIO_GROUP_SET_CONTAINER") })
  }

  /// A kernel with TYPE1 but not TYPE1v2 gets TYPE1, as QEMU asks for it.
  @Test func type1WithoutV2() throws {
    let (result, kernel) = try Self.legacy(
      injecting(HIOD_VFIO_CHECK_EXTENSION, into: RealizeTests.legacyScript) { request in
        .success(request.value == Int32(HIOD_VFIO_TYPE1v2_IOMMU) ? 0 : 1)
      })
    #expect(result.hostIOMMUDevice?.legacy?.iommuModel == Int32(HIOD_VFIO_TYPE1_IOMMU))
    #expect(kernel.log.contains("VFIO_SET_IOMMU /dev/vfio/vfio 1"))
  }

  @Test(arguments: [0, 1])
  func getInfoRefused(onCall call: Int) throws {
    let (result, kernel) = try Self.legacy(
      injecting(HIOD_VFIO_IOMMU_GET_INFO, onCall: call, into: RealizeTests.legacyScript, .invalidArgument))
    let failure = try #require(result.primaryFailure)
    #expect(
      failure.step == "VFIO_IOMMU_GET_INFO" && failure.problem == .kernelRefused && failure.errno == .invalidArgument)
    #expect(failure.message == "Failed to get VFIO IOMMU info: Invalid argument (EINVAL)")
    // The first call asks with 24 bytes; the kernel wants 88; the re-call is refused.
    let calls = kernel.log.filter { $0.hasPrefix("VFIO_IOMMU_GET_INFO") }
    #expect(calls.count == call + 1 && calls.last == "VFIO_IOMMU_GET_INFO /dev/vfio/vfio -> EINVAL")
    #expect(
      Array(kernel.log.suffix(3)) == [
        "VFIO_GROUP_UNSET_CONTAINER /dev/vfio/1", "close /dev/vfio/vfio", "close /dev/vfio/1",
      ])
    Self.expectPrediction(result)
  }

  @Test func aKernelAskingForMoreThanAMebibyteIsNotFollowed() throws {
    let (result, kernel) = try Self.legacy(
      injecting(HIOD_VFIO_IOMMU_GET_INFO, into: RealizeTests.legacyScript) { request in
        request.pointer!.storeBytes(of: UInt32(2 << 20), as: UInt32.self)
        return .success(0)
      })
    let failure = try #require(result.primaryFailure)
    #expect(failure.step == "VFIO_IOMMU_GET_INFO" && failure.problem == .kernelRefused && failure.errno == nil)
    #expect(failure.message == "the kernel asks for a 2097152-byte VFIO_IOMMU_GET_INFO buffer")
    #expect(kernel.log.filter { $0.hasPrefix("VFIO_IOMMU_GET_INFO") }.count == 1)
    #expect(kernel.log.contains("VFIO_GROUP_UNSET_CONTAINER /dev/vfio/1"))
  }

  @Test(arguments: [
    (Errno.invalidArgument, DeviceProblem.busy, "Failed to set group container: group 1 is already in a container"),
    (.noMemory, .kernelRefused, "Failed to set group container: Cannot allocate memory (ENOMEM)"),
  ])
  func setContainerRefused(_ errno: Errno, _ problem: DeviceProblem, _ message: String) throws {
    let (result, kernel) = try Self.legacy(
      injecting(HIOD_VFIO_GROUP_SET_CONTAINER, into: RealizeTests.legacyScript, errno))
    let failure = try #require(result.primaryFailure)
    #expect(failure.step == "VFIO_GROUP_SET_CONTAINER" && failure.problem == problem && failure.errno == errno)
    #expect(failure.message == message)
    #expect(!kernel.log.contains { $0.hasPrefix("VFIO_GROUP_UNSET_CONTAINER") || $0.hasPrefix("VFIO_SET_IOMMU") })
  }

  @Test func setIOMMURefused() throws {
    let (result, kernel) = try Self.legacy(
      injecting(HIOD_VFIO_SET_IOMMU, into: RealizeTests.legacyScript, .resourceBusy))
    let failure = try #require(result.primaryFailure)
    #expect(failure.step == "VFIO_SET_IOMMU" && failure.problem == .kernelRefused && failure.errno == .resourceBusy)
    #expect(failure.message == "Failed to set iommu for container: Device or resource busy (EBUSY)")
    #expect(kernel.log.contains("VFIO_GROUP_UNSET_CONTAINER /dev/vfio/1"))
  }

  @Test(arguments: [
    (
      Errno.permissionDenied, DeviceProblem.permissionDenied,
      "permission denied opening /dev/vfio/vfio: read and write access is needed"
    ),
    (
      .noSuchFileOrDirectory, .backendUnavailable,
      "/dev/vfio/vfio does not exist: the kernel has no VFIO container (CONFIG_VFIO_CONTAINER=n)"
    ),
    (.ioError, .kernelRefused, "failed to open /dev/vfio/vfio: Input/output error (EIO)"),
  ])
  func containerOpenRefused(_ errno: Errno, _ problem: DeviceProblem, _ message: String) throws {
    let (result, kernel) = try Self.legacy(RealizeTests.legacyScript, failOpen: ["/dev/vfio/vfio": errno])
    let failure = try #require(result.primaryFailure)
    #expect(failure.step == "open /dev/vfio/vfio" && failure.problem == problem && failure.errno == errno)
    #expect(failure.message == message)
    #expect(Array(kernel.log.suffix(2)) == ["open /dev/vfio/vfio -> \(errno.symbol)", "close /dev/vfio/1"])
  }

  /// A failed undo is a note on the answer, which stands.
  @Test func aFailedUnsetContainerIsANote() throws {
    let (result, kernel) = try Self.legacy(
      injecting(HIOD_VFIO_GROUP_UNSET_CONTAINER, into: RealizeTests.legacyScript, .resourceBusy))
    let device = try #require(result.hostIOMMUDevice)
    #expect(result.isDetermined && result.primaryFailure == nil)
    #expect(device.backend == .legacy && device.awBits == 39 && device.legacy?.dmaMappingsAvailable == 65535)
    #expect(device.notes == ["teardown: VFIO_GROUP_UNSET_CONTAINER failed: EBUSY (Device or resource busy)"])
    #expect(
      Array(kernel.log.suffix(3)) == [
        "VFIO_GROUP_UNSET_CONTAINER /dev/vfio/1 -> EBUSY", "close /dev/vfio/vfio", "close /dev/vfio/1",
      ])
  }

  // MARK: iommufd

  @Test(arguments: [
    (
      Errno.noSuchFileOrDirectory, DeviceProblem.backendUnavailable,
      "/dev/iommu does not exist: the kernel has no iommufd (Linux 6.2+, CONFIG_IOMMUFD)",
      ["modprobe iommufd, or use --backend legacy"]
    ),
    (
      .permissionDenied, .permissionDenied, "permission denied opening /dev/iommu: read and write access is needed",
      [
        "run as root, or give the user that runs QEMU the node (libvirt and udev rules chown it)",
        "--backend sysfs predicts without privileges",
      ]
    ),
    (.ioError, .kernelRefused, "failed to open /dev/iommu: Input/output error (EIO)", []),
  ])
  func iommufdOpenRefused(_ errno: Errno, _ problem: DeviceProblem, _ message: String, _ hints: [String]) throws {
    let (result, kernel) = try Self.iommufd(RealizeTests.iommufdScript, failOpen: ["/dev/iommu": errno])
    let failure = try #require(result.primaryFailure)
    #expect(failure.backend == .iommufd && failure.step == "open /dev/iommu")
    #expect(
      failure.problem == problem && failure.errno == errno && failure.message == message && failure.hints == hints)
    #expect(kernel.log == ["open /dev/iommu -> \(errno.symbol)"])
    Self.expectPrediction(result)
  }

  /// The cdev open: ENODEV when the device was unbound between the scan and the open.
  @Test(arguments: [
    (
      Errno.operationNotSupportedByDevice, DeviceProblem.backendUnavailable,
      "/dev/vfio/devices/vfio0 is gone: the device was unbound from its VFIO driver"
    ),
    (
      .noSuchFileOrDirectory, .backendUnavailable,
      "/dev/vfio/devices/vfio0 is gone: the device was unbound from its VFIO driver"
    ),
    (
      .permissionDenied, .permissionDenied,
      "permission denied opening /dev/vfio/devices/vfio0: read and write access is needed"
    ),
    (.ioError, .kernelRefused, "failed to open /dev/vfio/devices/vfio0: Input/output error (EIO)"),
  ])
  func cdevOpenRefused(_ errno: Errno, _ problem: DeviceProblem, _ message: String) throws {
    let (result, kernel) = try Self.iommufd(
      RealizeTests.iommufdScript, failOpen: ["/dev/vfio/devices/vfio0": errno])
    let failure = try #require(result.primaryFailure)
    #expect(failure.step == "open /dev/vfio/devices/vfio0")
    #expect(failure.problem == problem && failure.errno == errno && failure.message == message)
    if problem == .backendUnavailable { #expect(failure.hints.isEmpty) }
    #expect(kernel.log == ["open /dev/iommu", "open /dev/vfio/devices/vfio0 -> \(errno.symbol)", "close /dev/iommu"])
  }

  @Test func bindRefusedOtherwise() throws {
    let (result, _) = try Self.iommufd(
      injecting(HIOD_VFIO_DEVICE_BIND_IOMMUFD, into: RealizeTests.iommufdScript, .noMemory))
    let failure = try #require(result.primaryFailure)
    #expect(
      failure.step == "VFIO_DEVICE_BIND_IOMMUFD" && failure.problem == .kernelRefused && failure.errno == .noMemory)
    #expect(failure.message == "error binding /dev/vfio/devices/vfio0 to /dev/iommu: Cannot allocate memory (ENOMEM)")
  }

  @Test func hardwareInfoRefused() throws {
    let (result, kernel) = try Self.iommufd(
      injecting(HIOD_IOMMU_GET_HW_INFO, into: RealizeTests.iommufdScript, .notSupported))
    let failure = try #require(result.primaryFailure)
    #expect(failure.step == "IOMMU_GET_HW_INFO" && failure.problem == .kernelRefused && failure.errno == .notSupported)
    #expect(failure.message == "Failed to get hardware info: Operation not supported (EOPNOTSUPP)")
    // Nothing was allocated yet, so nothing is destroyed.
    #expect(
      kernel.log == [
        "open /dev/iommu", "open /dev/vfio/devices/vfio0", "VFIO_DEVICE_BIND_IOMMUFD /dev/vfio/devices/vfio0",
        "IOMMU_GET_HW_INFO /dev/iommu -> EOPNOTSUPP", "close /dev/vfio/devices/vfio0", "close /dev/iommu",
      ])
    Self.expectPrediction(result)
  }

  @Test func ioasAllocationRefused() throws {
    let (result, kernel) = try Self.iommufd(
      injecting(HIOD_IOMMU_IOAS_ALLOC, into: RealizeTests.iommufdScript, .noMemory))
    let failure = try #require(result.primaryFailure)
    #expect(failure.step == "IOMMU_IOAS_ALLOC" && failure.problem == .kernelRefused && failure.errno == .noMemory)
    #expect(failure.message == "Failed to allocate ioas: Cannot allocate memory (ENOMEM)")
    #expect(!kernel.log.contains { $0.hasPrefix("IOMMU_DESTROY") || $0.hasPrefix("IOMMU_HWPT_ALLOC") })
    Self.expectPrediction(result)
  }

  /// The nesting-parent probe may fail (an answer); the paging HWPT must not.
  @Test func hwptAllocationRefused() throws {
    let (result, kernel) = try Self.iommufd(
      injecting(HIOD_IOMMU_HWPT_ALLOC, into: RealizeTests.iommufdScript) { request in
        let flags = request.pointer!.load(fromByteOffset: 4, as: UInt32.self)
        return .failure(flags & UInt32(HIOD_IOMMU_HWPT_ALLOC_NEST_PARENT) != 0 ? .notSupported : .invalidArgument)
      })
    let failure = try #require(result.primaryFailure)
    #expect(
      failure.step == "IOMMU_HWPT_ALLOC" && failure.problem == .kernelRefused && failure.errno == .invalidArgument)
    #expect(failure.message == "Failed to allocate a HWPT for the device: Invalid argument (EINVAL)")
    // Only the IOAS is destroyed; no attach was tried.
    #expect(
      Array(kernel.log.suffix(4)) == [
        "IOMMU_HWPT_ALLOC /dev/iommu -> EINVAL", "IOMMU_DESTROY /dev/iommu",
        "close /dev/vfio/devices/vfio0", "close /dev/iommu",
      ])
    #expect(!kernel.log.contains { $0.hasPrefix("VFIO_DEVICE_ATTACH") })
  }

  /// EPERM at attach (kernels that check MSI isolation there rather than at bind).
  @Test func attachEPERMIsNoMSIIsolation() throws {
    let (result, kernel) = try Self.iommufd(
      injecting(HIOD_VFIO_DEVICE_ATTACH_IOMMUFD_PT, into: RealizeTests.iommufdScript, .notPermitted))
    let failure = try #require(result.primaryFailure)
    #expect(failure.step == "VFIO_DEVICE_ATTACH_IOMMUFD_PT" && failure.problem == .noMSIIsolation)
    #expect(failure.errno == .notPermitted)
    #expect(
      failure.message
        == "the kernel refuses the device (EPERM): the platform cannot isolate MSIs (no interrupt remapping)")
    #expect(
      failure.hints.last
        == "iommufd.allow_unsafe_interrupts=1 overrides the check, but then a guest can forge interrupts to the host")
    #expect(kernel.log.filter { $0.hasPrefix("IOMMU_DESTROY") }.count == 2)
    #expect(!kernel.log.contains { $0.hasPrefix("VFIO_DEVICE_DETACH") })
  }

  @Test func attachRefusedOtherwise() throws {
    let (result, _) = try Self.iommufd(
      injecting(HIOD_VFIO_DEVICE_ATTACH_IOMMUFD_PT, into: RealizeTests.iommufdScript, .invalidArgument))
    let failure = try #require(result.primaryFailure)
    #expect(failure.problem == .kernelRefused && failure.errno == .invalidArgument)
    #expect(failure.message == "error attaching the device to HWPT 3: Invalid argument (EINVAL)")
  }

  /// Every undo fails: each is a note, in undo order, and the answer stands.
  @Test func failedDetachAndDestroysAreNotes() throws {
    let script = injecting(
      HIOD_VFIO_DEVICE_DETACH_IOMMUFD_PT,
      into: injecting(HIOD_IOMMU_DESTROY, into: RealizeTests.iommufdScript, .noSuchFileOrDirectory),
      .invalidArgument)
    let (result, kernel) = try Self.iommufd(script)
    let device = try #require(result.hostIOMMUDevice)
    #expect(result.isDetermined && result.primaryFailure == nil)
    #expect(device.backend == .iommufd && device.awBits == 39 && device.caps.type?.value == .intelVTd)
    #expect(
      device.notes == [
        "teardown: VFIO_DEVICE_DETACH_IOMMUFD_PT failed: EINVAL (Invalid argument)",
        "teardown: IOMMU_DESTROY(hwpt 3) failed: ENOENT (No such file or directory)",
        "teardown: IOMMU_DESTROY(ioas 2) failed: ENOENT (No such file or directory)",
      ])
    #expect(
      Array(kernel.log.suffix(5)) == [
        "VFIO_DEVICE_DETACH_IOMMUFD_PT /dev/vfio/devices/vfio0 -> EINVAL",
        "IOMMU_DESTROY /dev/iommu -> ENOENT", "IOMMU_DESTROY /dev/iommu -> ENOENT",
        "close /dev/vfio/devices/vfio0", "close /dev/iommu",
      ])
  }

  /// The IOVA_RANGES answer is fetched after attach; a failure of its re-call (with the
  /// count the first call gave) is QEMU's fallback too.
  @Test func iovaRangesRecallRefused() throws {
    let (result, kernel) = try Self.iommufd(
      injecting(HIOD_IOMMU_IOAS_IOVA_RANGES, onCall: 1, into: RealizeTests.iommufdScript, .noMemory))
    let device = try #require(result.hostIOMMUDevice)
    #expect(device.awBits == 64 && device.iovaRanges?.value == [IOVARange(start: 0, last: .max)])
    #expect(device.notes.contains { $0.hasPrefix("Cannot get IOVA ranges (ENOMEM)") })
    #expect(
      kernel.log.filter { $0.hasPrefix("IOMMU_IOAS_IOVA_RANGES") } == [
        "IOMMU_IOAS_IOVA_RANGES /dev/iommu -> EMSGSIZE", "IOMMU_IOAS_IOVA_RANGES /dev/iommu -> ENOMEM",
      ])
  }
}
