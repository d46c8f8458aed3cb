// hiodctl tests — QEMU versions, machine types, effective defaults per release and machine,
// and the QEMU / libvirt spellings of a configuration.
// SPDX-License-Identifier: GPL-2.0-or-later

import Testing

@testable import HostIOMMU

struct VIOMMUVersionTests {
  @Test(arguments: [
    ("10.0", QEMUVersion(major: 10, minor: 0)),
    ("9.1", QEMUVersion(major: 9, minor: 1)),
    ("10.0.2", QEMUVersion(major: 10, minor: 0)),
    ("11.0", QEMUVersion(major: 11, minor: 0)),
  ])
  func parses(_ text: String, _ expected: QEMUVersion) {
    #expect(QEMUVersion(text) == expected)
    #expect(QEMUVersion(text)?.description == "\(expected.major).\(expected.minor)")
  }

  @Test(arguments: ["", "10", "v10.0", "10.0-rc1", "10.x", "10.0.2.1", "+1.0", " 10.0", "10..0", "99999.0"])
  func rejects(_ text: String) {
    #expect(QEMUVersion(text) == nil)
  }

  /// The release table's shape, not its rows (a release is added there alone): in
  /// order, no release twice, the releases the oracle ran among them, and the release
  /// of the rules for one it does not name.
  @Test func knownReleases() {
    let known = QEMUVersion.known
    #expect(known == known.sorted() && Set(known).count == known.count)
    #expect(Set(QEMUVersion.observed).isSubset(of: known))
    #expect(QEMUVersion.newest == known.last && QEMUVersion.oldest == known.first)
    let newer = QEMUVersion(major: QEMUVersion.newest.major + 1, minor: 0)
    #expect(!newer.isKnown)
    // Newer than the newest: the newest rules; older than the oldest: none.
    #expect(newer.rulesRelease == QEMUVersion.newest)
    #expect(QEMUVersion(major: QEMUVersion.oldest.major - 1, minor: 0).rulesRelease == nil)
    #expect(known.allSatisfy { $0.rulesRelease == $0 })
  }

  @Test(
    arguments: [
      ("pc-q35-9.1", "q35", "9.1", "pc-q35-9.1"),
      ("pc-q35-10.0", "q35", "10.0", "pc-q35-10.0"),
      ("q35", "q35", nil, "q35"),
      ("pc-i440fx-9.2", "i440fx", "9.2", "pc-i440fx-9.2"),
      ("pc", "i440fx", nil, "pc"),
      ("virt-9.2", "virt", "9.2", "virt-9.2"),
      ("virt", "virt", nil, "virt"),
    ] as [(String, String, String?, String)])
  func parsesMachine(_ text: String, _ family: String, _ version: String?, _ spelled: String) {
    let machine = MachineType(text)
    #expect(machine?.family == family)
    #expect(machine?.version == version.flatMap(QEMUVersion.init))
    #expect(machine?.description == spelled)
  }

  @Test(arguments: ["pc-q35-9.1.2", "pc-q35", "microvm", "q35-9.1", "virt-9", "", "pc-q35-x.y"])
  func rejectsMachine(_ text: String) {
    #expect(MachineType(text) == nil)
  }
}

/// One row: a configuration and the effective aw-bits QEMU uses.
struct AWBitsDefaultCase: Sendable, CustomTestStringConvertible {
  var model: VIOMMUModel
  var qemu: String
  var machine: String?
  var architecture: GuestArchitecture = .x86
  var expected: Int
  var isDefault = true

  var testDescription: String { "\(model) QEMU \(qemu) machine \(machine ?? "-") → \(expected)" }
}

struct VIOMMUEffectiveValueTests {
  static let awBitsCases: [AWBitsDefaultCase] = [
    // intel: 39 before 10.0; 48 from 10.0 except for machine types ≤ 9.1 (pc_compat_9_1).
    AWBitsDefaultCase(model: .intel, qemu: "9.0", machine: nil, expected: 39),
    AWBitsDefaultCase(model: .intel, qemu: "9.1", machine: nil, expected: 39),
    AWBitsDefaultCase(model: .intel, qemu: "9.2", machine: nil, expected: 39),
    AWBitsDefaultCase(model: .intel, qemu: "9.2", machine: "pc-q35-9.2", expected: 39),
    AWBitsDefaultCase(model: .intel, qemu: "10.0", machine: nil, expected: 48),
    AWBitsDefaultCase(model: .intel, qemu: "10.0", machine: "pc-q35-9.1", expected: 39),
    AWBitsDefaultCase(model: .intel, qemu: "10.0", machine: "pc-q35-9.2", expected: 48),
    AWBitsDefaultCase(model: .intel, qemu: "10.0", machine: "pc-q35-10.0", expected: 48),
    AWBitsDefaultCase(model: .intel, qemu: "11.0", machine: "q35", expected: 48),
    AWBitsDefaultCase(model: .intel, qemu: "11.0", machine: "pc-q35-9.0", expected: 39),
    // virtio: q35 39, virt 48, otherwise the device's 64.
    AWBitsDefaultCase(model: .virtio, qemu: "9.0", machine: "q35", expected: 39),
    AWBitsDefaultCase(model: .virtio, qemu: "11.0", machine: "virt-9.2", expected: 48),
    AWBitsDefaultCase(model: .virtio, qemu: "11.0", machine: "pc", expected: 64),
    AWBitsDefaultCase(model: .virtio, qemu: "11.0", machine: nil, architecture: .x86, expected: 39),
    AWBitsDefaultCase(model: .virtio, qemu: "11.0", machine: nil, architecture: .arm, expected: 48),
  ]

  @Test(arguments: awBitsCases)
  func awBitsDefault(_ row: AWBitsDefaultCase) throws {
    let configuration = VIOMMUConfiguration(
      model: row.model, qemu: try #require(QEMUVersion(row.qemu)), machine: row.machine.flatMap(MachineType.init),
      architecture: row.architecture)
    let awBits = try #require(configuration.awBits)
    #expect(awBits.value == row.expected)
    #expect(awBits.isDefault == row.isDefault)
    #expect(!awBits.reason.isEmpty)
  }

  @Test func explicitValuesWin() throws {
    let configuration = VIOMMUFixtures.intel("10.0") { $0.awBits = 39 }
    let awBits = try #require(configuration.awBits)
    #expect(awBits.value == 39)
    #expect(!awBits.isDefault)
    #expect(awBits.reason == "set explicitly")
  }

  @Test func otherDefaults() {
    let intel = VIOMMUConfiguration(model: .intel)
    #expect(intel.cachingMode?.value == false)
    #expect(intel.scalableMode?.value == false)
    #expect(intel.xFlts?.value == false)
    #expect(intel.fs1gp?.value == true)
    #expect(intel.granule == nil)
    let smmu = VIOMMUConfiguration(model: .smmuv3)
    #expect(smmu.accel?.value == false)
    #expect(smmu.oas?.value == 44)
    #expect(smmu.ssidsize?.value == 0)
    #expect(smmu.ril?.value == true)
    #expect(smmu.ats?.value == false)
    #expect(smmu.awBits == nil)
    #expect(VIOMMUConfiguration(model: .amd).dmaRemap?.value == false)
    #expect(VIOMMUConfiguration(model: .virtio).granule?.value == .host)
  }

  @Test func effectivePropertiesListTheModelsProperties() {
    let names = VIOMMUConfiguration(model: .intel, qemu: .newest).effectiveProperties.map(\.name)
    #expect(names == ["caching-mode", "aw-bits", "scalable-mode", "fsts", "fs1gp", "pasid-bits"])
    let older = VIOMMUConfiguration(model: .intel, qemu: QEMUVersion(major: 10, minor: 0)).effectiveProperties
    #expect(older.map(\.name) == ["caching-mode", "aw-bits", "x-scalable-mode", "x-flts", "fs1gp"])
    // 7.2's intel-iommu has neither x-flts nor fs1gp (-device intel-iommu,help).
    let oldest = VIOMMUConfiguration(model: .intel, qemu: QEMUVersion(major: 7, minor: 2)).effectiveProperties
    #expect(oldest.map(\.name) == ["caching-mode", "aw-bits", "x-scalable-mode"])
    #expect(VIOMMUConfiguration(model: .amd).effectiveProperties.map(\.name) == ["dma-remap"])
  }
}

/// One row: a configuration and how QEMU and libvirt spell it.
struct SpellingCase: Sendable, CustomTestStringConvertible {
  var label: String
  var configuration: VIOMMUConfiguration
  var qemu: String
  var libvirt: String?
  var commandline: String?

  var testDescription: String { label }
}

struct VIOMMUSyntaxTests {
  static let cases: [SpellingCase] = [
    SpellingCase(
      label: "intel caching-mode and aw-bits", configuration: VIOMMUFixtures.intel { $0.awBits = 39 },
      qemu: "-device intel-iommu,caching-mode=on,aw-bits=39",
      libvirt: "<iommu model='intel'><driver caching_mode='on' aw_bits='39'/></iommu>"),
    SpellingCase(
      label: "intel defaults", configuration: VIOMMUFixtures.configuration(.intel), qemu: "-device intel-iommu",
      libvirt: "<iommu model='intel'/>"),
    SpellingCase(
      label: "intel x-flts through -global",
      configuration: VIOMMUFixtures.intel {
        $0.awBits = 48
        $0.scalableMode = true
        $0.xFlts = true
        $0.fs1gp = false
      },
      qemu: "-device intel-iommu,caching-mode=on,aw-bits=48,x-scalable-mode=on,x-flts=on,fs1gp=off",
      libvirt: "<iommu model='intel'><driver caching_mode='on' aw_bits='48'/></iommu>",
      commandline:
        """
        <qemu:commandline>\
        <qemu:arg value='-global'/><qemu:arg value='intel-iommu.x-scalable-mode=on'/>\
        <qemu:arg value='-global'/><qemu:arg value='intel-iommu.x-flts=on'/>\
        <qemu:arg value='-global'/><qemu:arg value='intel-iommu.fs1gp=off'/>\
        </qemu:commandline>
        """
    ),
    SpellingCase(
      label: "virtio granule and aw-bits",
      configuration: VIOMMUFixtures.configuration(.virtio) {
        $0.granule = .k4
        $0.awBits = 48
      },
      qemu: "-device virtio-iommu-pci,aw-bits=48,granule=4k", libvirt: "<iommu model='virtio'/>",
      commandline:
        """
        <qemu:commandline>\
        <qemu:arg value='-global'/><qemu:arg value='virtio-iommu-pci.aw-bits=48'/>\
        <qemu:arg value='-global'/><qemu:arg value='virtio-iommu-pci.granule=4k'/>\
        </qemu:commandline>
        """
    ),
    SpellingCase(
      label: "smmuv3 accel 11.0",
      configuration: VIOMMUFixtures.configuration(.smmuv3) {
        $0.accel = true
        $0.oas = 48
      },
      qemu: "-device arm-smmuv3,primary-bus=pcie.0,accel=on,oas=48", libvirt: nil),
    SpellingCase(
      label: "smmuv3 machine-wide before 10.1", configuration: VIOMMUFixtures.configuration(.smmuv3, "10.0"),
      qemu: "-machine virt,iommu=smmuv3", libvirt: "<iommu model='smmuv3'/>"),
    SpellingCase(
      label: "amd dma-remap", configuration: VIOMMUFixtures.configuration(.amd, "10.2") { $0.dmaRemap = true },
      qemu: "-device amd-iommu,dma-remap=on", libvirt: "<iommu model='amd'/>",
      commandline:
        "<qemu:commandline><qemu:arg value='-global'/><qemu:arg value='amd-iommu.dma-remap=on'/></qemu:commandline>"),
  ]

  @Test(arguments: cases)
  func spells(_ row: SpellingCase) {
    #expect(row.configuration.qemuDeviceOption == row.qemu)
    #expect(row.configuration.libvirtElement == row.libvirt)
    #expect(row.configuration.libvirtQEMUCommandline == row.commandline)
    if let libvirt = row.libvirt {
      #expect(row.configuration.libvirtXML == ([libvirt] + [row.commandline].compactMap { $0 }).joined(separator: "\n"))
    } else {
      #expect(row.configuration.libvirtXML == nil)
      #expect(!row.configuration.libvirtNotes.isEmpty)
    }
  }

  @Test func modelNames() {
    #expect(
      VIOMMUModel.allCases.map(\.qemuDevice) == ["intel-iommu", "virtio-iommu-pci", "arm-smmuv3", "amd-iommu", ""])
    #expect(VIOMMUModel.allCases.map(\.libvirtModel) == ["intel", "virtio", "smmuv3", "amd", "none"])
    #expect(Granule.allCases.map(\.rawValue) == ["4k", "8k", "16k", "64k", "host"])
  }

  @Test func iommufdBackendOption() {
    #expect(
      HostIOMMU.iommufdBackendOption(for: VIOMMUFixtures.address())
        == "-object iommufd,id=iommufd0 -device vfio-pci,host=0000:01:00.0,iommufd=iommufd0")
  }
}
