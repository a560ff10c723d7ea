#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import JSON

@Suite struct FileIOTests {
    func temporaryFolder() -> String {
        var template = Array("/tmp/jsontests.XXXXXX".utf8CString)
        let path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        return path
    }

    @Test func atomicWriteThenRead() throws {
        let folder = temporaryFolder()
        let path = folder + "/out.json"
        try writeFileAtomically("first\n", to: path)
        #expect(try readFile(path) == "first\n")
        try writeFileAtomically(Array("second é".utf8), to: path)
        #expect(try readFile(path) == "second é")
        // No temporary files are left behind.
        let entries = try listFolder(folder)
        #expect(entries == ["out.json"])
    }

    @Test func errorsNameThePath() {
        do {
            try writeFileAtomically("x", to: "/nonexistent-folder/out.json")
            Issue.record("expected an error")
        } catch {
            #expect(error.path == "/nonexistent-folder/out.json")
            #expect(error.description.contains("No such file or directory"))
        }
        do {
            _ = try readFile("/nonexistent-folder/in.json")
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "/nonexistent-folder/in.json: cannot open: No such file or directory")
        }
    }

    @Test func invalidUTF8FileIsAnError() throws {
        let path = temporaryFolder() + "/bad.txt"
        try writeFileAtomically([0x61, 0xFF, 0x62], to: path)
        #expect(throws: FileError.self) { try readFile(path) }
        #expect(try readFileBytes(path) == [0x61, 0xFF, 0x62])
        do {
            _ = try JSONDocument.load(contentsOf: path)
        } catch {
            #expect("\(error)" == "\(path):1:2: error: invalid UTF-8 (byte 0xFF at offset 1)")
        }
    }

    func listFolder(_ folder: String) throws -> [String] {
        guard let dir = opendir(folder) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}
