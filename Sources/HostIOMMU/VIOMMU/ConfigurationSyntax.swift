// hiodctl — a vIOMMU configuration spelled the way users paste it: the QEMU command-line
// option and the libvirt domain XML.
// SPDX-License-Identifier: GPL-2.0-or-later
//
// libvirt spellings: the `<iommu model=…><driver …/></iommu>` element with the driver
// attributes libvirt documents for intel (intremap, caching_mode, eim, iotlb, aw_bits
// [libvirt ≥ 6.5], dma_translation). Everything libvirt may not express is passed with
// `<qemu:commandline>` and `-global <device>.<property>=<value>`, which QEMU applies to the
// device libvirt creates whatever its position on the command line. The element needs the
// namespace `xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'` on `<domain>`.

// The user-facing spellings of a configuration.
extension VIOMMUConfiguration {
  /// The QEMU option that creates this vIOMMU with the options set explicitly, e.g.
  /// `-device intel-iommu,caching-mode=on,aw-bits=39`.
  package var qemuDeviceOption: String {
    let properties = explicitProperties.map(\.description)
    switch model {
    case .smmuv3 where qemu < QEMUVersion(major: 10, minor: 1):
      // Before user-creatable arm-smmuv3 (multi-SMMU series, merged for 10.1 as far as
      // hiodctl knows — UNVERIFIED) the only SMMUv3 is the machine-wide one, which takes
      // no properties; accel and its options do not exist there anyway.
      return "-machine virt,iommu=smmuv3"
    case .smmuv3:
      // A user-created SMMUv3 is attached to a PCIe root complex; pcie.0 is virt's.
      return (["-device arm-smmuv3", "primary-bus=pcie.0"] + properties).joined(separator: ",")
    case .none:
      return ""
    default:
      return (["-device \(model.qemuDevice)"] + properties).joined(separator: ",")
    }
  }

  /// The libvirt `<iommu>` element, e.g.
  /// `<iommu model='intel'><driver caching_mode='on' aw_bits='39'/></iommu>`; nil when
  /// hiodctl knows no libvirt element for the configuration (see `libvirtNotes`).
  package var libvirtElement: String? {
    switch model {
    case .intel:
      var attributes: [String] = []
      if let cachingMode = options.cachingMode { attributes.append("caching_mode='\(cachingMode ? "on" : "off")'") }
      if let awBits = options.awBits { attributes.append("aw_bits='\(awBits)'") }
      return Self.iommuElement(model: "intel", driverAttributes: attributes)
    case .virtio:
      // aw-bits and granule go through <qemu:commandline>: hiodctl is not sure which
      // libvirt release (if any) accepts aw_bits/granule for the virtio model.
      return Self.iommuElement(model: "virtio", driverAttributes: [])
    case .smmuv3:
      // libvirt's smmuv3 model is QEMU's machine-wide `-machine virt,iommu=smmuv3`. A
      // user-created `-device arm-smmuv3,accel=on` cannot be added through
      // <qemu:commandline> either: those arguments come after libvirt's vfio-pci devices,
      // too late for the SMMU to own their bus.
      return accel?.value == true ? nil : Self.iommuElement(model: "smmuv3", driverAttributes: [])
    case .amd:
      // The 'amd' model is recent in libvirt (release UNVERIFIED).
      return Self.iommuElement(model: "amd", driverAttributes: [])
    case .none:
      return nil
    }
  }

  /// The `<qemu:commandline>` block for the options the libvirt element cannot carry
  /// (`-global intel-iommu.x-flts=on`…); nil when there are none.
  package var libvirtQEMUCommandline: String? {
    guard libvirtElement != nil else { return nil }
    let carried: Set<String> = model == .intel ? ["caching-mode", "aw-bits"] : []
    let globals = explicitProperties.filter { !carried.contains($0.name) }
    guard !globals.isEmpty else { return nil }
    let arguments = globals.flatMap { ["-global", "\(model.qemuDevice).\($0)"] }
    return "<qemu:commandline>"
      + arguments.map { "<qemu:arg value='\($0)'/>" }.joined()
      + "</qemu:commandline>"
  }

  /// The libvirt spelling in one piece: the element, then the command-line block if any.
  /// nil when libvirt cannot express the configuration.
  package var libvirtXML: String? {
    guard let element = libvirtElement else { return nil }
    return [element, libvirtQEMUCommandline].compactMap { $0 }.joined(separator: "\n")
  }

  /// What a libvirt user must know about `libvirtElement`.
  package var libvirtNotes: [String] {
    var notes: [String] = []
    if libvirtQEMUCommandline != nil {
      notes.append(
        "<qemu:commandline> needs xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0' on <domain>")
    }
    if model == .intel, options.awBits != nil {
      notes.append("libvirt accepts aw_bits from 6.5.0 on")
    }
    if model == .intel, options.xFlts == true {
      notes.append(
        """
        libvirt has no x-flts attribute in the releases hiodctl knows (a newer one may call it fsts); \
        the vfio-pci devices must also use iommufd
        """
      )
    }
    if model == .smmuv3, accel?.value == true {
      notes.append(
        """
        hiodctl knows no libvirt XML for arm-smmuv3,accel=on: \
        libvirt's smmuv3 model is the machine-wide emulated SMMUv3
        """
      )
    }
    if model == .amd {
      notes.append("the 'amd' iommu model needs a recent libvirt (release not verified by hiodctl)")
    }
    return notes
  }

  private static func iommuElement(model: String, driverAttributes: [String]) -> String {
    driverAttributes.isEmpty
      ? "<iommu model='\(model)'/>"
      : "<iommu model='\(model)'><driver \(driverAttributes.joined(separator: " "))/></iommu>"
  }
}

/// The QEMU options that give a vfio-pci device the iommufd backend.
func iommufdBackendOption(for device: PCIAddress) -> String {
  "-object iommufd,id=iommufd0 -device vfio-pci,host=\(device),iommufd=iommufd0"
}
