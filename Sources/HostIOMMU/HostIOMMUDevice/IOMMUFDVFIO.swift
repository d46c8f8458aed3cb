// hiodctl — HostIOMMUDeviceIOMMUFDVFIO: the device's VFIO cdev bound to /dev/iommu,
// attached as QEMU's iommufd backend attaches it, read, and released again.
// SPDX-License-Identifier: GPL-2.0-or-later

import CHIODShim
import SystemPackage

/// Realizes `host-iommu-device-iommufd-vfio` for one device.
///
/// Sequence (QEMU hw/vfio/iommufd.c and backends/iommufd.c; Documentation/userspace-api/
/// iommufd.rst): open /dev/iommu → open /dev/vfio/devices/vfioM → VFIO_DEVICE_BIND_IOMMUFD
/// → IOMMU_GET_HW_INFO → IOMMU_IOAS_ALLOC → probe IOMMU_HWPT_ALLOC(NEST_PARENT) →
/// IOMMU_HWPT_ALLOC as QEMU does → VFIO_DEVICE_ATTACH_IOMMUFD_PT → IOMMU_IOAS_IOVA_RANGES
/// → VFIO_DEVICE_DETACH_IOMMUFD_PT → IOMMU_DESTROY(hwpt, ioas) → close cdev → close
/// iommufd. Binding opens the device in the kernel (vfio-pci enables it and may reset
/// it), exactly as QEMU's own bind at VM start does.
struct IOMMUFDRealizer {
  let kernel: any KernelInterface
  let root: SystemRoot
  /// Bind even when the kernel's reset would be a bus reset (--force).
  var allowBusReset = false

  static let iommufdPath = "/dev/iommu"

  func realize(_ device: PCIDevice, in host: HostInventory) throws(RealizeFailure) -> HostIOMMUDevice {
    let group = try Preconditions.vfioGroup(of: device, in: host, backend: .iommufd)
    guard let cdev = device.vfioCdev else {
      throw RealizeFailure(
        backend: .iommufd, step: "sysfs", problem: .backendUnavailable,
        message:
          """
          \(device.address) has no VFIO cdev (no vfio-dev/ in sysfs): \
          the kernel is older than 6.6 or built without CONFIG_VFIO_DEVICE_CDEV
          """,
        hints: ["use the legacy backend: --backend legacy"])
    }
    try Preconditions.characterDevice(Self.iommufdPath, root: root, kernel: kernel, backend: .iommufd)
    try Preconditions.characterDevice(cdev.node.path, root: root, kernel: kernel, backend: .iommufd)
    // Binding resets the device (DeviceReset). A bus reset resets whatever else sits
    // below the same bridge, and some devices never come back from one: only when forced.
    let reset = DeviceReset.of(device, root: root)
    if reset.reachesBeyondFunction && !allowBusReset {
      throw RealizeFailure(
        backend: .iommufd, step: "reset_method", problem: .busResetRefused,
        message:
          """
          \(device.address): the iommufd bind would reset the device with a \(reset.method ?? "bus") reset \
          (reset_method \(reset.methods.joined(separator: ","))), \
          which resets the whole bus below its bridge: not binding
          """,
        hints: [
          "--backend legacy answers without opening the device",
          "--force binds anyway (as QEMU's own bind at VM start would)",
        ])
    }

    // swift-format-ignore: OnlyOneTrailingClosureArgument
    return try kernel.withDescriptor(
      root.resolve(Self.iommufdPath), hostPath: Self.iommufdPath,
      onFailure: { openFailure(Self.iommufdPath, $0) }
    ) { (iommufd) throws(RealizeFailure) -> HostIOMMUDevice in
      try kernel.withDescriptor(
        root.resolve(cdev.node.path), hostPath: cdev.node.path,
        onFailure: { openFailure(cdev.node.path, $0) }
      ) { (deviceFD) throws(RealizeFailure) -> HostIOMMUDevice in
        let deviceID = try bind(deviceFD, to: iommufd, device: device, group: group, cdev: cdev, host: host)
        return try realize(device, deviceID: deviceID, deviceFD: deviceFD, iommufd: iommufd)
      }
    }
  }

  private func realize(
    _ device: PCIDevice, deviceID: UInt32, deviceFD: borrowing KernelDescriptor,
    iommufd: borrowing KernelDescriptor
  ) throws(RealizeFailure) -> HostIOMMUDevice {
    var hostDevice = HostIOMMUDevice(
      name: device.address.description, backend: .iommufd, iovaRanges: nil, pageSizeMask: nil)
    hostDevice.caps = try hardwareInfo(deviceID, iommufd: iommufd)

    var teardown = Teardown<Undo>()

    let result: Result<Void, RealizeFailure> = {
      // One IOAS, as QEMU allocates one per address space.
      var ioas = hiod_iommu_ioas_alloc(size: UInt32(MemoryLayout<hiod_iommu_ioas_alloc>.size), flags: 0, out_ioas_id: 0)
      if case .failure(let errno) = kernel.call(iommufd, HIOD_IOMMU_IOAS_ALLOC, &ioas) {
        return .failure(refused("IOMMU_IOAS_ALLOC", errno, "Failed to allocate ioas"))
      }
      teardown.push("IOMMU_DESTROY(ioas \(ioas.out_ioas_id))", .destroy(ioas.out_ioas_id))

      // Would x-flts / accel=on work? They need a nesting-parent HWPT. Allocate one and
      // destroy it at once: nothing is attached to it.
      let nestProbe = allocateHWPT(
        iommufd, deviceID: deviceID, ioas: ioas.out_ioas_id,
        flags: UInt32(HIOD_IOMMU_HWPT_ALLOC_NEST_PARENT))
      switch nestProbe {
      case .success(let hwpt):
        _ = destroy(hwpt, iommufd)
        hostDevice.nestingParent = NestingParentProbe(
          allowed: true, refusal: nil, provenance: Provenance(.iommufd, "IOMMU_HWPT_ALLOC(NEST_PARENT)"))
      case .failure(let errno):
        hostDevice.nestingParent = NestingParentProbe(
          allowed: false, refusal: errno, provenance: Provenance(.iommufd, "IOMMU_HWPT_ALLOC(NEST_PARENT)"))
      }

      // QEMU's autodomain: a paging HWPT on the IOAS, with dirty tracking when the
      // hardware offers it, and the device attached to that HWPT.
      let hwCaps = hostDevice.caps.hwCaps?.value ?? 0
      let flags =
        hwCaps & UInt64(HIOD_IOMMU_HW_CAP_DIRTY_TRACKING) != 0
        ? UInt32(HIOD_IOMMU_HWPT_ALLOC_DIRTY_TRACKING) : 0
      let hwpt: UInt32
      switch allocateHWPT(iommufd, deviceID: deviceID, ioas: ioas.out_ioas_id, flags: flags) {
      case .success(let id): hwpt = id
      case .failure(let errno):
        return .failure(refused("IOMMU_HWPT_ALLOC", errno, "Failed to allocate a HWPT for the device"))
      }
      teardown.push("IOMMU_DESTROY(hwpt \(hwpt))", .destroy(hwpt))

      var attach = hiod_vfio_device_attach_iommufd_pt(
        argsz: UInt32(MemoryLayout<hiod_vfio_device_attach_iommufd_pt>.size), flags: 0, pt_id: hwpt)
      if case .failure(let errno) = kernel.call(deviceFD, HIOD_VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach) {
        if errno == .notPermitted {
          return .failure(
            Preconditions.noMSIIsolation(
              backend: .iommufd, step: "VFIO_DEVICE_ATTACH_IOMMUFD_PT", errno: errno,
              parameter: "iommufd.allow_unsafe_interrupts"))
        }
        return .failure(refused("VFIO_DEVICE_ATTACH_IOMMUFD_PT", errno, "error attaching the device to HWPT \(hwpt)"))
      }
      teardown.push("VFIO_DEVICE_DETACH_IOMMUFD_PT", .detach)
      hostDevice.iommufd = IOMMUFDObjects(
        deviceID: deviceID, ioasID: ioas.out_ioas_id, hwptID: hwpt, hwptFlags: flags)

      // Only after the attach does the IOAS carry the domain's aperture and the device's
      // reserved regions, which is where aw_bits comes from.
      switch iovaRanges(iommufd, ioas: ioas.out_ioas_id) {
      case .success(let (ranges, alignment, problems)):
        hostDevice.iovaRanges = Sourced(ranges, Provenance(.iommufd, "IOMMU_IOAS_IOVA_RANGES after attach"))
        hostDevice.pageSizeMask = Sourced(alignment, Provenance(.iommufd, "IOMMU_IOAS_IOVA_RANGES: out_iova_alignment"))
        hostDevice.notes += problems
      case .failure(let errno):
        // QEMU warns "Fallback to default 64bit IOVA range and 4K page size", but what it
        // sets is qemu_real_host_page_size() (hw/vfio/iommufd.c), the host page size.
        let pageSize = kernel.hostPageSize
        let pageName = pageSizeNames(UInt64(pageSize)).first ?? "\(pageSize)-byte"
        hostDevice.iovaRanges = Sourced(
          [IOVARange(start: 0, last: .max)], Provenance(.iommufd, "QEMU's fallback after IOMMU_IOAS_IOVA_RANGES failed")
        )
        hostDevice.pageSizeMask = Sourced(
          UInt64(pageSize), Provenance(.iommufd, "QEMU's fallback (the host page size, \(pageName))"))
        hostDevice.notes.append(
          """
          Cannot get IOVA ranges (\(errno.symbol)): \
          QEMU falls back to the default 64-bit IOVA range and the host page size (\(pageName))
          """
        )
      }
      return .success(())
    }()

    hostDevice.notes += teardown.run { step in
      switch step {
      case .detach:
        var detach = hiod_vfio_device_detach_iommufd_pt(
          argsz: UInt32(MemoryLayout<hiod_vfio_device_detach_iommufd_pt>.size), flags: 0)
        return kernel.call(deviceFD, HIOD_VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach)
      case .destroy(let id):
        return destroy(id, iommufd)
      }
    }
    if case .failure(let failure) = result { throw failure }
    return hostDevice
  }

  // See: drivers/vfio/device_cdev.c vfio_df_ioctl_bind_iommufd; iommufd/device.c.
  private func bind(
    _ deviceFD: borrowing KernelDescriptor, to iommufd: borrowing KernelDescriptor,
    device: PCIDevice, group: IOMMUGroup, cdev: VFIOCdev, host: HostInventory
  ) throws(RealizeFailure) -> UInt32 {
    // The ABI takes the iommufd by number.
    var bind = hiod_vfio_device_bind_iommufd(
      argsz: UInt32(MemoryLayout<hiod_vfio_device_bind_iommufd>.size), flags: 0,
      iommufd: iommufd.numberForKernel, out_devid: 0)
    let step = "VFIO_DEVICE_BIND_IOMMUFD"
    switch kernel.call(deviceFD, HIOD_VFIO_DEVICE_BIND_IOMMUFD, &bind) {
    case .success:
      return bind.out_devid
    case .failure(.resourceBusy):
      // vfio_device_block_group: the group is open through /dev/vfio/N (a legacy user).
      throw RealizeFailure(
        backend: .iommufd, step: step, errno: .resourceBusy, problem: .busy,
        message:
          """
          \(device.address) is in use: group \(group.id) is open through \(group.vfioNodePath) \
          (a legacy VFIO user such as QEMU without iommufd)
          """,
        hints: [ProcessHolders.describe(group.vfioNodePath, in: root)])
    case .failure(.invalidArgument):
      // vfio_df_open: only the group path allows several opens of one device.
      throw RealizeFailure(
        backend: .iommufd, step: step, errno: .invalidArgument, problem: .busy,
        message: "\(device.address) is in use: it is already bound through \(cdev.node.path) by another process",
        hints: [ProcessHolders.describe(cdev.node.path, in: root)])
    case .failure(.notPermitted):
      if !group.isViable {
        throw Preconditions.notViable(
          group, device: device, advice: host.viabilityAdvice(for: group), backend: .iommufd, step: step)
      }
      if host.facts.interruptRemapping == .disabled {
        throw Preconditions.noMSIIsolation(
          backend: .iommufd, step: step, errno: .notPermitted, parameter: "iommufd.allow_unsafe_interrupts")
      }
      throw RealizeFailure(
        backend: .iommufd, step: step, errno: .notPermitted, problem: .noMSIIsolation,
        message:
          """
          the kernel refuses to bind \(device.address) (EPERM): no MSI isolation, \
          or group \(group.id)'s DMA is owned by another iommufd context
          """,
        hints: [
          "check interrupt remapping ('hiodctl list' shows it) and other users of group \(group.id)",
          ProcessHolders.describe(group.vfioNodePath, in: root),
        ])
    case .failure(let errno):
      throw refused(step, errno, "error binding \(cdev.node.path) to \(Self.iommufdPath)")
    }
  }

  /// IOMMU_GET_HW_INFO with room for the largest vendor struct (QEMU's VendorCaps).
  private func hardwareInfo(_ deviceID: UInt32, iommufd: borrowing KernelDescriptor)
    throws(RealizeFailure) -> HostIOMMUDeviceCaps
  {
    var vendorBytes = [UInt8](repeating: 0, count: Int(HIOD_IOMMU_HW_INFO_VENDOR_MAX))
    var info = hiod_iommu_hw_info()
    info.size = UInt32(MemoryLayout<hiod_iommu_hw_info>.size)
    info.dev_id = deviceID
    info.data_len = UInt32(vendorBytes.count)
    // SAFETY: `data_uptr` is the address of `vendorBytes`' storage and `data_len` its
    // length; the pointer is used only by this ioctl, inside the closure that keeps the
    // storage alive and in place. The kernel writes at most `data_len` bytes there.
    let outcome = vendorBytes.withUnsafeMutableBytes { vendor in
      info.data_uptr = UInt64(UInt(bitPattern: vendor.baseAddress))
      return kernel.call(iommufd, HIOD_IOMMU_GET_HW_INFO, &info)
    }
    if case .failure(let errno) = outcome {
      throw refused("IOMMU_GET_HW_INFO", errno, "Failed to get hardware info")
    }
    let origin = Provenance(.iommufd, "IOMMU_GET_HW_INFO")
    let type = IOMMUHardwareType(rawValue: info.out_data_type)
    let length = Swift.min(Int(info.data_len), vendorBytes.count)
    let vendor: VendorCaps
    switch type {
    case .intelVTd where length >= 24:
      vendor = .intelVTd(
        flags: vendorBytes.loadLittleEndian(UInt32.self, at: 0),
        capability: vendorBytes.loadLittleEndian(UInt64.self, at: 8),
        extendedCapability: vendorBytes.loadLittleEndian(UInt64.self, at: 16))
    case .armSMMUv3 where length >= 40:
      vendor = .armSMMUv3(
        flags: vendorBytes.loadLittleEndian(UInt32.self, at: 0),
        idr: (0..<6).map { vendorBytes.loadLittleEndian(UInt32.self, at: 8 + 4 * $0) },
        iidr: vendorBytes.loadLittleEndian(UInt32.self, at: 32),
        aidr: vendorBytes.loadLittleEndian(UInt32.self, at: 36))
    case .amd where length >= 16:
      vendor = .amd(
        efr: vendorBytes.loadLittleEndian(UInt64.self, at: 0),
        efr2: vendorBytes.loadLittleEndian(UInt64.self, at: 8))
    default:
      vendor = .other(type: type, bytes: Array(vendorBytes.prefix(length)))
    }
    return HostIOMMUDeviceCaps(
      type: Sourced(type, Provenance(.iommufd, "IOMMU_GET_HW_INFO: out_data_type")),
      hwCaps: Sourced(info.out_capabilities, Provenance(.iommufd, "IOMMU_GET_HW_INFO: out_capabilities")),
      maxPASIDLog2: Sourced(info.out_max_pasid_log2, Provenance(.iommufd, "IOMMU_GET_HW_INFO: out_max_pasid_log2")),
      vendor: Sourced(vendor, origin))
  }

  private func allocateHWPT(_ iommufd: borrowing KernelDescriptor, deviceID: UInt32, ioas: UInt32, flags: UInt32)
    -> Result<UInt32, Errno>
  {
    var request = hiod_iommu_hwpt_alloc()
    request.size = UInt32(MemoryLayout<hiod_iommu_hwpt_alloc>.size)
    request.flags = flags
    request.dev_id = deviceID
    request.pt_id = ioas
    request.data_type = UInt32(HIOD_IOMMU_HWPT_DATA_NONE)
    return kernel.call(iommufd, HIOD_IOMMU_HWPT_ALLOC, &request).map { _ in request.out_hwpt_id }
  }

  /// IOMMU_IOAS_IOVA_RANGES: ask with no room, expect EMSGSIZE and the count, ask again.
  private func iovaRanges(_ iommufd: borrowing KernelDescriptor, ioas: UInt32)
    -> Result<([IOVARange], UInt64, [String]), Errno>
  {
    var capacity = 0
    for _ in 0..<4 {
      var ranges = [hiod_iommu_iova_range](repeating: hiod_iommu_iova_range(), count: capacity)
      var request = hiod_iommu_ioas_iova_ranges()
      request.size = UInt32(MemoryLayout<hiod_iommu_ioas_iova_ranges>.size)
      request.ioas_id = ioas
      request.num_iovas = UInt32(capacity)
      // SAFETY: `allowed_iovas` is the address of `ranges`' storage and `num_iovas` its
      // element count (with 0, the kernel writes nothing there, whatever the address);
      // the pointer is used only by this ioctl, inside the closure that keeps the storage
      // alive and in place. The kernel writes at most `num_iovas` iommu_iova_range
      // entries there.
      let outcome = ranges.withUnsafeMutableBufferPointer { buffer in
        request.allowed_iovas = UInt64(UInt(bitPattern: buffer.baseAddress))
        return kernel.call(iommufd, HIOD_IOMMU_IOAS_IOVA_RANGES, &request)
      }
      switch outcome {
      case .success:
        let count = Swift.min(Int(request.num_iovas), capacity)
        let normalised = ranges.prefix(count).map { IOVARange(start: $0.start, last: $0.last) }.normalised()
        return .success((normalised.ranges, request.out_iova_alignment, normalised.problems))
      case .failure(.messageTooLong):
        // The kernel wrote the total into num_iovas; more ranges may appear between the
        // calls (another attach), hence the loop.
        capacity = Int(request.num_iovas)
        guard capacity <= 1 << 16 else { return .failure(.messageTooLong) }
      case .failure(let errno):
        return .failure(errno)
      }
    }
    return .failure(.messageTooLong)
  }

  /// What the teardown undoes.
  private enum Undo {
    case detach
    case destroy(UInt32)
  }

  /// IOMMU_DESTROY of an IOAS or HWPT.
  private func destroy(_ id: UInt32, _ iommufd: borrowing KernelDescriptor) -> Result<Int32, Errno> {
    var request = hiod_iommu_destroy(size: UInt32(MemoryLayout<hiod_iommu_destroy>.size), id: id)
    return kernel.call(iommufd, HIOD_IOMMU_DESTROY, &request)
  }

  private func openFailure(_ node: String, _ errno: Errno) -> RealizeFailure {
    switch errno {
    case .permissionDenied:
      return Preconditions.permission(node, backend: .iommufd, step: "open \(node)", errno: errno)
    case .noSuchFileOrDirectory, .operationNotSupportedByDevice:
      return RealizeFailure(
        backend: .iommufd, step: "open \(node)", errno: errno, problem: .backendUnavailable,
        message: node == Self.iommufdPath
          ? "\(node) does not exist: the kernel has no iommufd (Linux 6.2+, CONFIG_IOMMUFD)"
          : "\(node) is gone: the device was unbound from its VFIO driver",
        hints: node == Self.iommufdPath ? ["modprobe iommufd, or use --backend legacy"] : [])
    default:
      return refused("open \(node)", errno, "failed to open \(node)")
    }
  }

  private func refused(_ step: String, _ errno: Errno, _ message: String) -> RealizeFailure {
    RealizeFailure(
      backend: .iommufd, step: step, errno: errno, problem: .kernelRefused,
      message: "\(message): \(errno.description) (\(errno.symbol))")
  }
}
