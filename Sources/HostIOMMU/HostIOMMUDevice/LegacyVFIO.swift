// hiodctl — HostIOMMUDeviceLegacyVFIO: the device's VFIO group in a type1 container,
// set up as QEMU's vfio_legacy_attach_device does, read, and released again.
// SPDX-License-Identifier: GPL-2.0-or-later

import CHIODShim
import SystemPackage

/// Realizes `host-iommu-device-legacy-vfio` for one device.
///
/// Sequence (QEMU hw/vfio/container-legacy.c; Documentation/driver-api/vfio.rst):
/// open /dev/vfio/N → VFIO_GROUP_GET_STATUS (viable?) → open /dev/vfio/vfio →
/// VFIO_GET_API_VERSION → VFIO_CHECK_EXTENSION(TYPE1v2) → VFIO_GROUP_SET_CONTAINER →
/// VFIO_SET_IOMMU → VFIO_IOMMU_GET_INFO (grown to the size the kernel asks) →
/// VFIO_GROUP_UNSET_CONTAINER → close. The device fd itself is never opened: opening it
/// enables (and may reset) the device, and nothing hiodctl reports needs it.
struct LegacyVFIORealizer {
  let kernel: any KernelInterface
  let root: SystemRoot

  static let containerPath = "/dev/vfio/vfio"

  func realize(_ device: PCIDevice, in host: HostInventory) throws(RealizeFailure) -> HostIOMMUDevice {
    let name = device.address.description
    let group = try Preconditions.vfioGroup(of: device, in: host, backend: .legacy)
    let node = group.vfioNodePath
    try Preconditions.characterDevice(node, root: root, kernel: kernel, backend: .legacy)

    // swift-format-ignore: OnlyOneTrailingClosureArgument
    return try kernel.withDescriptor(
      root.resolve(node), hostPath: node,
      onFailure: { openGroupFailure(group, device: device, host: host, errno: $0) }
    ) { (groupFD) throws(RealizeFailure) -> HostIOMMUDevice in
      var status = hiod_vfio_group_status(argsz: UInt32(MemoryLayout<hiod_vfio_group_status>.size), flags: 0)
      if case .failure(let errno) = kernel.call(groupFD, HIOD_VFIO_GROUP_GET_STATUS, &status) {
        throw refused("VFIO_GROUP_GET_STATUS", errno, "failed to get group \(group.id) status")
      }
      guard status.flags & UInt32(HIOD_VFIO_GROUP_FLAGS_VIABLE) != 0 else {
        throw Preconditions.notViable(
          group, device: device, advice: host.viabilityAdvice(for: group), backend: .legacy,
          step: "VFIO_GROUP_GET_STATUS")
      }
      if status.flags & UInt32(HIOD_VFIO_GROUP_FLAGS_CONTAINER_SET) != 0 {
        throw RealizeFailure(
          backend: .legacy, step: "VFIO_GROUP_GET_STATUS", problem: .busy,
          message: "group \(group.id) is already attached to a container",
          hints: [ProcessHolders.describe(node, in: root)])
      }
      try Preconditions.characterDevice(Self.containerPath, root: root, kernel: kernel, backend: .legacy)
      return try kernel.withDescriptor(
        root.resolve(Self.containerPath), hostPath: Self.containerPath,
        onFailure: openContainerFailure
      ) { (container) throws(RealizeFailure) -> HostIOMMUDevice in
        try realize(name: name, group: group, host: host, groupFD: groupFD, container: container)
      }
    }
  }

  private func realize(
    name: String, group: IOMMUGroup, host: HostInventory, groupFD: borrowing KernelDescriptor,
    container: borrowing KernelDescriptor
  ) throws(RealizeFailure) -> HostIOMMUDevice {
    switch kernel.call(container, HIOD_VFIO_GET_API_VERSION) {
    case .success(Int32(HIOD_VFIO_API_VERSION)): break
    case .success(let version):
      throw RealizeFailure(
        backend: .legacy, step: "VFIO_GET_API_VERSION", problem: .backendUnavailable,
        message: "supported vfio version: \(HIOD_VFIO_API_VERSION), reported version: \(version)")
    case .failure(let errno):
      throw refused("VFIO_GET_API_VERSION", errno, "\(Self.containerPath) is not a VFIO container")
    }
    // QEMU tries TYPE1v2 first, then TYPE1 (the SPAPR models are for POWER).
    let model: Int32
    if case .success(1) = kernel.call(container, HIOD_VFIO_CHECK_EXTENSION, value: Int32(HIOD_VFIO_TYPE1v2_IOMMU)) {
      model = Int32(HIOD_VFIO_TYPE1v2_IOMMU)
    } else if case .success(1) = kernel.call(container, HIOD_VFIO_CHECK_EXTENSION, value: Int32(HIOD_VFIO_TYPE1_IOMMU))
    {
      model = Int32(HIOD_VFIO_TYPE1_IOMMU)
    } else {
      throw RealizeFailure(
        backend: .legacy, step: "VFIO_CHECK_EXTENSION", problem: .backendUnavailable,
        message: "No available IOMMU models: the container offers neither TYPE1v2 nor TYPE1",
        hints: ["load vfio_iommu_type1 (modprobe vfio_iommu_type1)"])
    }

    var teardown = Teardown<Undo>()
    // The ABI takes the container by number: a pointer to its int32 descriptor.
    var containerFD = container.numberForKernel
    if case .failure(let errno) = kernel.call(groupFD, HIOD_VFIO_GROUP_SET_CONTAINER, &containerFD) {
      throw setContainerFailure(group, host: host, errno: errno)
    }
    // Closing the group would detach it too; undo explicitly so the order is ours.
    teardown.push("VFIO_GROUP_UNSET_CONTAINER", .unsetContainer)

    let result: Result<HostIOMMUDevice, RealizeFailure>
    if case .failure(let errno) = kernel.call(container, HIOD_VFIO_SET_IOMMU, value: model) {
      result = .failure(setIOMMUFailure(group, errno: errno))
    } else {
      result = readInfo(name: name, container: container, model: model)
    }
    let teardownProblems = teardown.run { step in
      switch step {
      case .unsetContainer: kernel.call(groupFD, HIOD_VFIO_GROUP_UNSET_CONTAINER)
      }
    }
    switch result {
    case .success(var device):
      device.notes += teardownProblems
      return device
    case .failure(let failure):
      throw failure
    }
  }

  /// VFIO_IOMMU_GET_INFO with the buffer grown to the size the kernel asks for: the
  /// kernel answers a short buffer with success, a larger argsz and no capabilities.
  private func readInfo(name: String, container: borrowing KernelDescriptor, model: Int32)
    -> Result<HostIOMMUDevice, RealizeFailure>
  {
    var size = Type1InfoParser.headerSize
    var buffer: [UInt8] = []
    var settled = false
    for _ in 0..<4 {
      buffer = [UInt8](repeating: 0, count: size)
      // SAFETY: the bytes of a UInt32 value, copied into the first four of the buffer
      // (argsz, little-endian as the host is).
      withUnsafeBytes(of: UInt32(size)) { buffer.replaceSubrange(0..<4, with: $0) }
      // SAFETY: `bytes` is the whole `size`-byte buffer that argsz announces, valid for
      // the call; the kernel writes at most argsz bytes.
      let outcome = buffer.withUnsafeMutableBytes { bytes in
        kernel.call(container, HIOD_VFIO_IOMMU_GET_INFO, buffer: bytes)
      }
      if case .failure(let errno) = outcome {
        return .failure(refused("VFIO_IOMMU_GET_INFO", errno, "Failed to get VFIO IOMMU info"))
      }
      let wanted = Int(buffer.loadLittleEndian(UInt32.self, at: 0))
      if wanted <= size {
        settled = true
        break
      }
      // A kernel asking for more than 1 MiB is broken; do not follow it.
      guard wanted <= 1 << 20 else {
        return .failure(
          RealizeFailure(
            backend: .legacy, step: "VFIO_IOMMU_GET_INFO", problem: .kernelRefused,
            message: "the kernel asks for a \(wanted)-byte VFIO_IOMMU_GET_INFO buffer"))
      }
      size = wanted
    }
    let info = Type1InfoParser.parse(buffer)
    var notes = info.problems.map { "VFIO_IOMMU_GET_INFO: \($0)" }
    if !settled {
      notes.append("VFIO_IOMMU_GET_INFO: the kernel kept asking for a larger buffer; using its last answer")
    }
    let origin = Provenance(.legacy, "VFIO_IOMMU_GET_INFO: VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE")
    let ranges: [IOVARange]
    if let reported = info.iovaRanges {
      let normalised = reported.normalised()
      ranges = normalised.ranges
      notes += normalised.problems
    } else {
      ranges = []
      notes.append("the kernel reports no IOVA ranges (before Linux 5.4): QEMU then assumes 64 bits")
    }
    // QEMU falls back to the host page size when the kernel gives no page-size bitmap.
    let pageSizes =
      info.pageSizes.map { Sourced($0, Provenance(.legacy, "VFIO_IOMMU_GET_INFO: iova_pgsizes")) }
      ?? Sourced(UInt64(kernel.hostPageSize), Provenance(.legacy, "host page size (no VFIO_IOMMU_INFO_PGSIZES)"))
    let unmapAll: Bool
    if case .success(1) = kernel.call(container, HIOD_VFIO_CHECK_EXTENSION, value: Int32(HIOD_VFIO_UNMAP_ALL)) {
      unmapAll = true
    } else {
      unmapAll = false
    }
    return .success(
      HostIOMMUDevice(
        name: name, backend: .legacy, iovaRanges: Sourced(ranges, origin), pageSizeMask: pageSizes,
        legacy: LegacyContainerInfo(
          iommuModel: model, dmaMappingsAvailable: info.dmaAvailable,
          migrationCapable: info.migration, unmapAll: unmapAll),
        notes: notes))
  }

  // See: Documentation/driver-api/vfio.rst; drivers/vfio/group.c vfio_group_fops_open.
  private func openGroupFailure(
    _ group: IOMMUGroup, device: PCIDevice, host: HostInventory, errno: Errno
  ) -> RealizeFailure {
    let node = group.vfioNodePath
    let step = "open \(node)"
    switch errno {
    case .resourceBusy:
      let members = Set(group.members.map(\.name))
      let cdevs = host.devices.filter { members.contains($0.address.description) }.compactMap(\.vfioCdev?.node.path)
      return RealizeFailure(
        backend: .legacy, step: step, errno: errno, problem: .busy,
        message:
          "\(node) is busy: another process has group \(group.id) open, or a device of it is open through its cdev",
        hints: [ProcessHolders.describe(group: node, cdevs: cdevs, in: root)])
    case .permissionDenied:
      return Preconditions.permission(node, backend: .legacy, step: step, errno: errno)
    case .notPermitted where group.isNoIOMMU:
      return RealizeFailure(
        backend: .legacy, step: step, errno: errno, problem: .noIOMMUMode,
        message: "\(node) is a no-IOMMU group, which needs CAP_SYS_RAWIO and which QEMU cannot use")
    case .noSuchFileOrDirectory, .operationNotSupportedByDevice:
      return RealizeFailure(
        backend: .legacy, step: step, errno: errno, problem: .notBoundToVFIO,
        message: "\(node) is gone: no VFIO driver is bound to group \(group.id) any more",
        hints: ["check the binding with: hiodctl list -s \(device.address)"])
    default:
      return refused(step, errno, "failed to open \(node)")
    }
  }

  private func openContainerFailure(_ errno: Errno) -> RealizeFailure {
    let step = "open \(Self.containerPath)"
    switch errno {
    case .permissionDenied:
      return Preconditions.permission(Self.containerPath, backend: .legacy, step: step, errno: errno)
    case .noSuchFileOrDirectory:
      return RealizeFailure(
        backend: .legacy, step: step, errno: errno, problem: .backendUnavailable,
        message: "\(Self.containerPath) does not exist: the kernel has no VFIO container (CONFIG_VFIO_CONTAINER=n)",
        hints: ["use the iommufd backend: --backend iommufd"])
    default:
      return refused(step, errno, "failed to open \(Self.containerPath)")
    }
  }

  // See: drivers/vfio/group.c vfio_group_ioctl_set_container.
  private func setContainerFailure(_ group: IOMMUGroup, host: HostInventory, errno: Errno) -> RealizeFailure {
    let step = "VFIO_GROUP_SET_CONTAINER"
    switch errno {
    case .notPermitted:
      // iommu_group_claim_dma_owner: the group's DMA is owned elsewhere.
      if !group.isViable {
        return Preconditions.notViable(
          group, device: nil, advice: host.viabilityAdvice(for: group), backend: .legacy, step: step)
      }
      return RealizeFailure(
        backend: .legacy, step: step, errno: errno, problem: .busy,
        message:
          """
          Failed to set group container: group \(group.id)'s DMA is owned by another user \
          (an iommufd context or a driver)
          """,
        hints: [ProcessHolders.describe(group.vfioNodePath, in: root)])
    case .invalidArgument:
      return RealizeFailure(
        backend: .legacy, step: step, errno: errno, problem: .busy,
        message: "Failed to set group container: group \(group.id) is already in a container")
    default:
      return refused(step, errno, "Failed to set group container")
    }
  }

  // See: drivers/vfio/vfio_iommu_type1.c vfio_iommu_type1_attach_group.
  private func setIOMMUFailure(_ group: IOMMUGroup, errno: Errno) -> RealizeFailure {
    if errno == .notPermitted {
      return Preconditions.noMSIIsolation(
        backend: .legacy, step: "VFIO_SET_IOMMU", errno: errno,
        parameter: "vfio_iommu_type1.allow_unsafe_interrupts")
    }
    return refused("VFIO_SET_IOMMU", errno, "Failed to set iommu for container")
  }

  /// What the teardown undoes.
  private enum Undo {
    case unsetContainer
  }

  private func refused(_ step: String, _ errno: Errno, _ message: String) -> RealizeFailure {
    RealizeFailure(
      backend: .legacy, step: step, errno: errno, problem: .kernelRefused,
      message: "\(message): \(errno.description) (\(errno.symbol))")
  }
}
