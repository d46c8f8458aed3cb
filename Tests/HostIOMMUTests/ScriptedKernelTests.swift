// hiodctl tests — the scripted kernel checks each call as the kernel would: a call with
// the wrong size or a non-zero reserved field is a test failure, not a silent pass.
// SPDX-License-Identifier: GPL-2.0-or-later

import CHIODShim
import SystemPackage
import Testing

@testable import HostIOMMU

struct ScriptedKernelTests {
  /// Runs `body` on a scripted /dev/iommu descriptor and returns the rules it broke,
  /// which the scripted kernel also records as (here: known) issues.
  static func problems(
    _ path: String = "/dev/iommu", _ body: (ScriptedKernel, borrowing KernelDescriptor) -> Void
  ) throws -> [String] {
    let kernel = ScriptedKernel()
    withKnownIssue("the scripted kernel flags the call") {
      try kernel.withDescriptor(path, hostPath: path, onFailure: { _ in fatalError("scripted opens succeed") }) {
        (descriptor) throws(RealizeFailure) in body(kernel, descriptor)
      }
    }
    return kernel.argumentProblems
  }

  @Test func theSixDotSixHWPTSizeIsFlagged() throws {
    let problems = try Self.problems { kernel, iommufd in
      var request = hiod_iommu_hwpt_alloc()
      request.size = 40  // Linux 6.6's struct, without fault_id
      _ = kernel.call(iommufd, HIOD_IOMMU_HWPT_ALLOC, &request)
    }
    #expect(problems == ["IOMMU_HWPT_ALLOC: size 40, not 48"])
  }

  @Test func reservedFieldsMustBeZero() throws {
    let problems = try Self.problems { kernel, iommufd in
      var ranges = hiod_iommu_ioas_iova_ranges()
      ranges.size = 32
      ranges.reserved = 1
      _ = kernel.call(iommufd, HIOD_IOMMU_IOAS_IOVA_RANGES, &ranges)
      var hwpt = hiod_iommu_hwpt_alloc()
      hwpt.size = 48
      hwpt.reserved2 = 5
      _ = kernel.call(iommufd, HIOD_IOMMU_HWPT_ALLOC, &hwpt)
      var info = hiod_iommu_hw_info()
      info.size = 40
      info.data_len = 40
      info.data_uptr = 0x1000
      info.reserved.1 = 1
      _ = kernel.call(iommufd, HIOD_IOMMU_GET_HW_INFO, &info)
    }
    #expect(
      problems == [
        "IOMMU_IOAS_IOVA_RANGES: __reserved 1",
        "IOMMU_HWPT_ALLOC: __reserved 0, __reserved2 5",
        "IOMMU_GET_HW_INFO: __reserved (0, 1, 0)",
      ])
  }

  @Test func vfioArgszIsChecked() throws {
    let problems = try Self.problems("/dev/vfio/1") { kernel, group in
      var status = hiod_vfio_group_status(argsz: 16, flags: 0)
      _ = kernel.call(group, HIOD_VFIO_GROUP_GET_STATUS, &status)
      var short = [UInt8](repeating: 0, count: 16)
      short[0] = 16
      // SAFETY: the 16-byte buffer is valid inside the closure; the scripted kernel reads
      // argsz (16) bytes of it and writes nothing.
      _ = short.withUnsafeMutableBytes { kernel.call(group, HIOD_VFIO_IOMMU_GET_INFO, buffer: $0) }
      var notAContainer = group.numberForKernel
      _ = kernel.call(group, HIOD_VFIO_GROUP_SET_CONTAINER, &notAContainer)
      _ = kernel.call(group, HIOD_VFIO_CHECK_EXTENSION, value: 6)
    }
    #expect(problems.count == 4)
    #expect(problems[0] == "VFIO_GROUP_GET_STATUS: argsz 16, not 8")
    #expect(problems[1].hasPrefix("VFIO_IOMMU_GET_INFO: argsz 16, not 24"))
    #expect(problems[2] == "VFIO_GROUP_SET_CONTAINER: container fd 3 is /dev/vfio/1")
    #expect(problems[3] == "VFIO_CHECK_EXTENSION: extension 6 is not one hiodctl asks about")
  }

  /// Both backends' real sequences break no rule (the realize tests would fail if they did).
  @Test func theBackendsFollowTheRules() throws {
    for (backend, script) in [
      (BackendChoice.legacy, RealizeTests.legacyScript as ScriptedKernel.Script),
      (.iommufd, RealizeTests.iommufdScript),
    ] {
      let kernel = ScriptedKernel(script: script)
      _ = try RealizeTests.realize("0000:00:02.0", backend: backend, kernel: kernel)
      #expect(kernel.argumentProblems.isEmpty)
      #expect(kernel.log.count > 10)
    }
  }
}
