// hiodctl — a libvirt domain (virsh dumpxml, or what Nova and KubeVirt generate) as the
// QEMU command line libvirt would give QEMU, read as one: the machine, the <iommu>, the
// PCI controllers, every <hostdev type='pci'> with its host and guest address, iommufd,
// memory and <qemu:commandline>.
// SPDX-License-Identifier: GPL-2.0-or-later
//
// The mapping follows libvirt's own translation (`virsh domxml-to-native qemu-argv`,
// libvirt 9.0.0 on Debian 12: -device in JSON, controllers as pci.N, hostdevs as
// hostdevN, the vIOMMU as iommu0, arm-smmuv3 as -machine virt,iommu=smmuv3), and for
// what 9.0 lacks (<iommu model='amd'>, iommufd, the smmuv3 accel attributes) libvirt
// 12.8's schema (domaincommon.rng).

import CHIODXML
import SystemPackage

package enum LibvirtDomain {
  /// The namespace of `<qemu:commandline>`.
  static let qemuNamespace = "http://libvirt.org/schemas/domain/qemu/1.0"

  /// Domains are at most this large.
  package static let sizeLimit = 64 << 20

  /// The bytes of a domain file (`-`: standard input).
  package static func read(_ file: String) throws(HIODError) -> [UInt8] {
    let path = file == "-" ? "/dev/stdin" : file
    switch SystemRoot.host.readBytes(path, limit: sizeLimit) {
    case .success(let bytes): return bytes
    case .failure(let errno):
      throw HIODError(
        .io, "cannot read the domain \(file == "-" ? "from standard input" : file): \(errno.description)",
        hints: ["give the XML of 'virsh dumpxml VM', or - for standard input"], underlying: errno)
    }
  }

  /// Parses a domain's XML into the VM it describes. `source` names the input in errors.
  package static func parse(_ bytes: [UInt8], source: String) throws(CommandLineError) -> ParsedCommandLine {
    let argv = try commandLine(bytes, source: source)
    var parsed = try QEMUCommandLine.parse(argv)
    parsed.invocation.origin = .domain
    // libvirt's own options (-name, -uuid, -chardev…) are not the user's to hear about.
    parsed.invocation.ignored = []
    return parsed
  }

  /// The QEMU command line libvirt would run for the domain (program first).
  package static func commandLine(_ bytes: [UInt8], source: String) throws(CommandLineError) -> [String] {
    let document = try XMLDocument(bytes, source: source)
    let root = document.root
    guard let root, root.name == "domain", root.namespace == nil else {
      throw CommandLineError(
        "\(source): not a libvirt domain (the root element is <\(root?.name ?? "none")>)",
        hints: ["give the XML of 'virsh dumpxml VM'"])
    }
    var argv: [String] = []
    let devices = root.child("devices")
    argv.append(devices?.child("emulator")?.text?.trimmed ?? "qemu-system-x86_64")

    // The machine: <os><type arch=… machine=…>.
    let type = root.child("os")?.child("type")
    let arch = type?.attribute("arch") ?? "x86_64"
    let iommu = devices?.children("iommu").first
    let model = iommu?.attribute("model")
    var viommu: String?
    var machineWideSMMU = false

    // The vIOMMU.
    if let iommu, let model {
      let line = iommu.line
      let driver = iommu.child("driver")
      let models = VIOMMUModel.allCases.filter { $0 != .none }
      guard let known = models.first(where: { $0.libvirtModel == model }) else {
        let names = models.map(\.libvirtModel)
        throw CommandLineError(
          """
          \(source):\(line): <iommu model='\(model)'>: hiodctl knows the models \
          \(names.dropLast().joined(separator: ", ")) and \(names.last ?? "")
          """)
      }
      switch try known.definition.libvirtDevice(iommu, driver: driver, source: source) {
      case .device(let properties): viommu = json(properties)
      case .machineWide: machineWideSMMU = true
      }
    }
    var machine = type?.attribute("machine") ?? (arch == "aarch64" ? "virt" : "q35")
    if machineWideSMMU { machine += ",iommu=smmuv3" }
    argv += ["-machine", machine]

    // Memory: <memory unit='KiB'>.
    if let memory = root.child("memory"), let text = memory.text?.trimmed, let value = UInt64(text) {
      let unit = memory.attribute("unit") ?? "KiB"
      guard let mib = mebibytes(value, unit: unit) else {
        throw CommandLineError("\(source):\(memory.line): <memory unit='\(unit)'>: unknown unit")
      }
      argv += ["-m", String(mib)]
    }
    argv.append("-nodefaults")
    if let viommu { argv += ["-device", viommu] }

    // iommufd: the domain-wide <iommufd enabled='yes'/> (libvirt 12), or per hostdev.
    let hostdevs = (devices?.children("hostdev") ?? []).filter {
      $0.attribute("mode") == "subsystem" && $0.attribute("type") == "pci"
    }
    guard !hostdevs.isEmpty else {
      throw CommandLineError(
        "\(source): the domain assigns no host PCI device (no <hostdev mode='subsystem' type='pci'>)",
        hints: ["hiodctl checks VFIO-assigned devices; this domain has none"])
    }
    let domainIOMMUFD = root.child("iommufd")?.attribute("enabled") == "yes"
    let iommufd =
      domainIOMMUFD || hostdevs.contains { $0.child("driver")?.attribute("iommufd") == "yes" }
    if iommufd { argv += ["-object", "{\"qom-type\":\"iommufd\",\"id\":\"iommufd0\"}"] }

    // PCI controllers: index N is bus pci.N; index 0 is the root (pcie.0 on q35).
    var controllers: [Int: String] = [:]
    var nextIndex = 1
    var controllerOptions: [String] = []
    for controller in devices?.children("controller") ?? [] where controller.attribute("type") == "pci" {
      guard let indexText = controller.attribute("index"), let index = Int(indexText) else { continue }
      let modelName = controller.attribute("model") ?? ""
      nextIndex = max(nextIndex, index + 1)
      guard index > 0 else { continue }
      let driver: String
      switch modelName {
      case "pcie-root-port": driver = controller.child("model")?.attribute("name") ?? "pcie-root-port"
      case "pcie-to-pci-bridge": driver = "pcie-pci-bridge"
      case "pci-bridge": driver = "pci-bridge"
      case "dmi-to-pci-bridge": driver = "i82801b11-bridge"
      case "pcie-switch-upstream-port": driver = "x3130-upstream"
      case "pcie-switch-downstream-port": driver = "xio3130-downstream"
      default: continue
      }
      controllers[index] = driver
      var properties: [(String, String)] = [("driver", "\"\(driver)\"")]
      if driver == "pcie-root-port", let target = controller.child("target") {
        if let port = target.attribute("port"), let value = UInt64(hex: port) {
          properties.append(("port", String(value)))
        }
        if let chassis = target.attribute("chassis") { properties.append(("chassis", chassis)) }
      }
      properties.append(("id", "\"pci.\(index)\""))
      properties += address(controller.child("address"), controllers: controllers)
      controllerOptions.append(json(properties))
    }
    argv += controllerOptions.flatMap { ["-device", $0] }

    // Hostdevs: vfio-pci; without a guest address libvirt puts a PCIe device on a
    // pcie-root-port of its own.
    for (number, hostdev) in hostdevs.enumerated() {
      let line = hostdev.line
      let driverName = hostdev.child("driver")?.attribute("name") ?? "vfio"
      guard driverName == "vfio" else {
        throw CommandLineError(
          "\(source):\(line): <hostdev> with <driver name='\(driverName)'>: QEMU assigns PCI devices with vfio only")
      }
      guard let sourceAddress = hostdev.child("source")?.child("address"),
        let host = pciAddress(sourceAddress)
      else {
        throw CommandLineError("\(source):\(line): <hostdev type='pci'> without a <source><address …/>")
      }
      let alias = hostdev.child("alias")?.attribute("name") ?? "hostdev\(number)"
      var properties: [(String, String)] = [
        ("driver", "\"vfio-pci\""), ("host", "\"\(host)\""), ("id", "\"\(alias)\""),
      ]
      if iommufd { properties.append(("iommufd", "\"iommufd0\"")) }
      if let guest = hostdev.child("address"), guest.attribute("type") == "pci" {
        properties += address(guest, controllers: controllers)
      } else {
        let port = nextIndex
        nextIndex += 1
        argv += [
          "-device", json([("driver", "\"pcie-root-port\""), ("id", "\"pci.\(port)\""), ("bus", "\"pcie.0\"")]),
        ]
        properties += [("bus", "\"pci.\(port)\""), ("addr", "\"0x0\"")]
      }
      argv += ["-device", json(properties)]
    }

    // <qemu:commandline><qemu:arg value='…'/>: appended as libvirt does.
    for block in root.children where block.name == "commandline" && block.namespace == qemuNamespace {
      for arg in block.children where arg.name == "arg" {
        if let value = arg.attribute("value") { argv.append(value) }
      }
    }
    return argv
  }

  // MARK: Pieces of libvirt's spelling

  /// `{"driver":"vfio-pci","host":"0000:01:00.0",…}` (values already JSON).
  static func json(_ properties: [(String, String)]) -> String {
    "{" + properties.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
  }

  /// The `bus`/`addr` properties of a `<address type='pci' …/>`.
  static func address(_ element: XMLElement?, controllers: [Int: String]) -> [(String, String)] {
    guard let element, element.attribute("type") == "pci" || element.attribute("type") == nil,
      let bus = element.attribute("bus").flatMap(UInt64.init(hex:))
    else { return [] }
    let slot = element.attribute("slot").flatMap(UInt64.init(hex:)) ?? 0
    let function = element.attribute("function").flatMap(UInt64.init(hex:)) ?? 0
    let busName = bus == 0 ? "pcie.0" : "pci.\(bus)"
    var address = "0x" + String(slot, radix: 16)
    if function != 0 { address += ".0x" + String(function, radix: 16) }
    var properties = [("bus", "\"\(busName)\"")]
    if element.attribute("multifunction") == "on" { properties.append(("multifunction", "true")) }
    properties.append(("addr", "\"\(address)\""))
    return properties
  }

  /// `<address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>` as a BDF.
  static func pciAddress(_ element: XMLElement) -> PCIAddress? {
    guard let bus = element.attribute("bus").flatMap(UInt64.init(hex:)), bus < 256,
      let slot = element.attribute("slot").flatMap(UInt64.init(hex:)), slot < 32,
      let function = element.attribute("function").flatMap(UInt64.init(hex:)), function < 8
    else { return nil }
    let domain = element.attribute("domain").flatMap(UInt64.init(hex:)) ?? 0
    guard domain <= UInt64(UInt32.max) else { return nil }
    return PCIAddress(domain: UInt32(domain), bus: UInt8(bus), device: UInt8(slot), function: UInt8(function))
  }

  /// libvirt's memory units to MiB (or KiB with `kibibytes`).
  static func mebibytes(_ value: UInt64, unit: String, kibibytes: Bool = false) -> UInt64? {
    let bytes: UInt64
    switch unit {
    case "b", "bytes": bytes = 1
    case "KB": bytes = 1000
    case "k", "KiB": bytes = 1 << 10
    case "MB": bytes = 1_000_000
    case "M", "MiB": bytes = 1 << 20
    case "GB": bytes = 1_000_000_000
    case "G", "GiB": bytes = 1 << 30
    case "TB": bytes = 1_000_000_000_000
    case "T", "TiB": bytes = 1 << 40
    default: return nil
    }
    let total = value.multipliedReportingOverflow(by: bytes)
    guard !total.overflow else { return nil }
    return kibibytes ? total.partialValue >> 10 : max(1, total.partialValue >> 20)
  }
}

extension UInt64 {
  /// `0x1f`, `1f` or `31`? libvirt writes addresses in hex with 0x; plain digits are
  /// decimal there.
  init?(hex text: String) {
    if text.hasPrefix("0x") || text.hasPrefix("0X") {
      guard let value = UInt64(text.dropFirst(2), radix: 16) else { return nil }
      self = value
    } else {
      guard let value = UInt64(text) else { return nil }
      self = value
    }
  }
}

extension String {
  var trimmed: String {
    var characters = Substring(self)
    while characters.first?.isWhitespace == true { characters.removeFirst() }
    while characters.last?.isWhitespace == true { characters.removeLast() }
    return String(characters)
  }
}

// MARK: XML through libxml2

/// A parsed XML document (libxml2, loaded on first use).
final class XMLDocument {
  private let handle: UnsafeMutableRawPointer

  /// The root element. Made on each call: elements keep their document alive, and a
  /// document that also kept its root would never be freed (a retain cycle, found by
  /// LeakSanitizer in the golden tests' ASan pass).
  var root: XMLElement? { hiod_xml_root(handle).map { XMLElement($0, document: self) } }

  init(_ bytes: [UInt8], source: String) throws(CommandLineError) {
    var error = [CChar](repeating: 0, count: 512)
    var line: Int32 = 0
    // SAFETY: the buffer outlives the call; libxml2 copies what it keeps.
    let parsed = bytes.withUnsafeBufferPointer { buffer in
      buffer.baseAddress.flatMap { base in
        base.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
          hiod_xml_parse($0, buffer.count, &error, error.count, &line)
        }
      }
    }
    guard let parsed else {
      let message = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
      throw CommandLineError(
        "\(source)\(line > 0 ? ":\(line)" : ""): \(bytes.isEmpty ? "empty input" : "not well-formed XML: \(message)")",
        hints: ["give the XML of 'virsh dumpxml VM'"])
    }
    handle = parsed
  }

  deinit { hiod_xml_free_document(handle) }
}

/// An element of an `XMLDocument` (valid while the document lives).
final class XMLElement {
  private let node: UnsafeRawPointer
  /// Keeps the document alive.
  private let document: XMLDocument

  fileprivate init(_ node: UnsafeRawPointer, document: XMLDocument) {
    self.node = node
    self.document = document
  }

  var name: String { hiod_xml_name(node).map { String(cString: $0) } ?? "" }
  var namespace: String? { hiod_xml_namespace(node).map { String(cString: $0) } }
  var line: Int { Int(hiod_xml_line(node)) }

  var children: [XMLElement] {
    var result: [XMLElement] = []
    var next = hiod_xml_first_element(node)
    while let child = next {
      result.append(XMLElement(child, document: document))
      next = hiod_xml_next_element(child)
    }
    return result
  }

  /// Element children named `name` (no namespace).
  func children(_ name: String) -> [XMLElement] {
    children.filter { $0.name == name && $0.namespace == nil }
  }

  func child(_ name: String) -> XMLElement? { children(name).first }

  func attribute(_ name: String) -> String? {
    guard let value = hiod_xml_attribute(node, name) else { return nil }
    defer { hiod_xml_free(value) }
    return String(cString: value)
  }

  var text: String? {
    guard let value = hiod_xml_text(node) else { return nil }
    defer { hiod_xml_free(value) }
    return String(cString: value)
  }
}
