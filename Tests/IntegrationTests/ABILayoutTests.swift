import CHubABI
import Foundation
import Testing

/// The released ABI 1.0 layout cannot change: every field pinned in abi-1.0.layout must
/// still be at the same offset with the same size. New fields may only be appended.
@Suite struct ABILayoutTests {
    @Test func releasedFieldsAreWherePluginsExpectThem() throws {
        let directory = Products.tempDirectory("layout")
        let binary = directory + "/layout"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["cc", "-std=c99", "-Wall", "-Werror", "-DHUB_LAYOUT_PRINT",
                             Products.repository + "/PluginAPI/CHubABI/hub_abi_layout.c", "-o", binary]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "hub_abi_layout.c did not compile: a static assert on a released field failed")
        let run = Process()
        let pipe = Pipe()
        run.executableURL = URL(fileURLWithPath: binary)
        run.standardOutput = pipe
        try run.run()
        let current = Set(String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n"))
        run.waitUntilExit()
        let pinned = try String(contentsOfFile: Products.repository + "/PluginAPI/CHubABI/abi-1.0.layout", encoding: .utf8)
            .split(separator: "\n")
        #expect(pinned.count >= 100)
        for line in pinned {
            #expect(current.contains(line), "released ABI field changed or removed: \(line)")
        }
    }

    @Test func swiftSeesTheSameLayout() {
        #expect(MemoryLayout<hub_bytes>.size == 16)
        #expect(MemoryLayout<hub_buf>.size == 32)
        #expect(MemoryLayout<hub_event>.size == 152)
        #expect(MemoryLayout<hub_plugin_desc>.size == 128)
        #expect(MemoryLayout<hub_plugin_desc>.offset(of: \hub_plugin_desc.create) == 48)
        #expect(MemoryLayout<hub_host_api>.offset(of: \hub_host_api.schedule) == 104)
        #expect(MemoryLayout<hub_order>.offset(of: \hub_order.json) == 232)
        #expect(HUB_ABI_MAJOR == 1 && HUB_ABI_MINOR == 0)
    }
}
