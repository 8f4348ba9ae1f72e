import Foundation

// srfuse-embed-files OUTPUT ROOT FILE...: writes OUTPUT, a Swift file holding each FILE (a path
// relative to ROOT) and its contents, base64-encoded (a string literal compiles fast at any
// size; an array of bytes does not). Run by the EmbedRuntime build plugin.
let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
  FileHandle.standardError.write(Data("usage: srfuse-embed-files OUTPUT ROOT FILE...\n".utf8))
  exit(64)
}
let (output, root) = (arguments[1], URL(fileURLWithPath: arguments[2]))
var source = "// Generated at build time by the EmbedRuntime plugin from Sources/CRuntime; do not edit.\n"
source += "let embeddedRuntimeFiles: [(path: String, base64: String)] = [\n"
for path in arguments.dropFirst(3) {
  let contents = try Data(contentsOf: root.appendingPathComponent(path))
  source += "  (\"\(path)\", \"\(contents.base64EncodedString())\"),\n"
}
source += "]\n"
try source.write(toFile: output, atomically: true, encoding: .utf8)
