import ErizoCore
import Testing

@Suite("ConfigReader")
struct ConfigReaderTests {
  @Test func generatedEnvironmentNames() {
    #expect(ConfigReader.environmentName(of: "controller.warningRooms") == "ERIZO_CONTROLLER_WARNING_ROOMS")
    #expect(ConfigReader.environmentName(of: "agent.publicIP") == "ERIZO_AGENT_PUBLIC_IP")
    #expect(ConfigReader.environmentName(of: "log.level") == "ERIZO_LOG_LEVEL")
  }

  @Test func precedenceIsDefaultThenFileThenReferenceThenErizoName() throws {
    let file: JSONValue = ["a": ["port": 1]]
    #expect(try ConfigReader(file: nil, environment: [:]).int("a.port", default: 9, range: 1...100, help: "") == 9)
    #expect(try ConfigReader(file: file, environment: [:]).int("a.port", default: 9, range: 1...100, help: "") == 1)
    let reference = ConfigReader(file: file, environment: ["REF_PORT": "2"])
    #expect(try reference.int("a.port", default: 9, range: 1...100, env: ["REF_PORT"], help: "") == 2)
    let both = ConfigReader(file: file, environment: ["REF_PORT": "2", "ERIZO_A_PORT": "3"])
    #expect(try both.int("a.port", default: 9, range: 1...100, env: ["REF_PORT"], help: "") == 3)
  }

  @Test func unknownFileKeysAreNamed() throws {
    let reader = ConfigReader(file: ["a": ["port": 1, "prot": 2], "b": [:]], environment: [:])
    _ = try reader.int("a.port", default: 9, range: 1...100, help: "")
    #expect(throws: ErizoError(.unknownConfigKey, "")) { try reader.finish() }
    do { try reader.finish() } catch { #expect(error.message.contains("a.prot")) }
  }

  @Test func unknownErizoEnvironmentVariablesAreNamed() throws {
    let reader = ConfigReader(file: nil, environment: ["ERIZO_A_PROT": "1", "PATH": "/bin"])
    _ = try reader.int("a.port", default: 9, range: 1...100, help: "")
    do {
      try reader.finish()
      Issue.record("an unknown ERIZO_ variable was accepted")
    } catch {
      #expect(error.code == .unknownConfigKey)
      #expect(error.message.contains("ERIZO_A_PROT"))
    }
  }

  @Test func invalidValuesNameTheirSource() throws {
    let reader = ConfigReader(file: ["a": ["port": "x"]], environment: ["ERIZO_A_FLAG": "maybe", "RANGE": "500"])
    #expect(
      performing: { _ = try reader.int("a.port", default: 9, range: 1...100, help: "") },
      throws: { error in
        (error as? ErizoError)?.message.contains("a.port") == true
      })
    #expect(
      performing: { _ = try reader.bool("a.flag", default: false, help: "") },
      throws: { error in
        (error as? ErizoError)?.message.contains("ERIZO_A_FLAG") == true
      })
    #expect(
      performing: { _ = try reader.int("a.range", default: 9, range: 1...100, env: ["RANGE"], help: "") },
      throws: { error in
        (error as? ErizoError)?.message.contains("between 1 and 100") == true
      })
    #expect(throws: ErizoError(.invalidConfigValue, "")) {
      _ = try ConfigReader(file: ["s": 5], environment: [:]).string("s", default: "", help: "")
    }
    #expect(throws: ErizoError(.invalidConfigValue, "")) {
      _ = try ConfigReader(file: ["s": "b"], environment: [:]).string("s", default: "a", help: "", allowed: ["a"])
    }
  }

  @Test func jsonValuesFromTheEnvironmentAreParsed() throws {
    let reader = ConfigReader(file: nil, environment: ["ERIZO_A_META": #"{"zone":"eu"}"#])
    #expect(try reader.json("a.meta", default: [:], help: "") == ["zone": "eu"])
    let bad = ConfigReader(file: nil, environment: ["ERIZO_A_META": "{"])
    #expect(throws: ErizoError(.invalidConfigValue, "")) { _ = try bad.json("a.meta", default: [:], help: "") }
  }
}
