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
    model.definition.qemuDeviceOption(self, properties: explicitProperties.map(\.description))
  }

  /// The libvirt `<iommu>` element, e.g.
  /// `<iommu model='intel'><driver caching_mode='on' aw_bits='39'/></iommu>`; nil when
  /// hiodctl knows no libvirt element for the configuration (see `libvirtNotes`).
  package var libvirtElement: String? { model.definition.libvirtElement(self) }

  /// The `<qemu:commandline>` block for the options the libvirt element cannot carry
  /// (`-global intel-iommu.x-flts=on`…); nil when there are none.
  package var libvirtQEMUCommandline: String? {
    guard libvirtElement != nil else { return nil }
    let carried = model.definition.libvirtCarriedProperties
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
    notes += model.definition.libvirtNotes(self)
    return notes
  }

  static func iommuElement(model: String, driverAttributes: [String]) -> String {
    driverAttributes.isEmpty
      ? "<iommu model='\(model)'/>"
      : "<iommu model='\(model)'><driver \(driverAttributes.joined(separator: " "))/></iommu>"
  }
}

/// The QEMU options that give a vfio-pci device the iommufd backend.
func iommufdBackendOption(for device: PCIAddress) -> String {
  "-object iommufd,id=iommufd0 -device vfio-pci,host=\(device),iommufd=iommufd0"
}
