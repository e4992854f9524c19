// lodestone-server as a process with --tls_cert, --tls_key, --tls_ca and --health_listen: lodectl
// reaches it over mutual TLS only, the health port answers in plain text, bad flag combinations
// stop it at once with a message.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "lodestone/v1/ledger.grpc.pb.h"
#include "tests/services/rpc/test_certs.h"
#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"

namespace lodestone {
namespace {

using ::testing::HasSubstr;

struct ProgramRun {
  int exit_code = -1;  // -1: killed (timeout) or did not exit normally
  std::string output;  // stdout and stderr
};

// Runs `argv` to completion (at most `timeout`, then SIGKILL), capturing stdout and stderr.
ProgramRun RunProgram(const std::vector<std::string>& argv,
                      std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  ProgramRun run;
  int fds[2];
  if (::pipe(fds) != 0) return run;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::dup2(fds[1], STDERR_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool killed = false;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(pid, SIGKILL);
      killed = true;
      break;
    }
    pollfd pfd{fds[0], POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
    char chunk[4096];
    const ssize_t n = ::read(fds[0], chunk, sizeof(chunk));
    if (n <= 0) break;
    run.output.append(chunk, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!killed && WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  return run;
}

std::optional<int> PortAfter(const std::string& line, const std::string& marker) {
  const size_t at = line.find(marker);
  if (at == std::string::npos) return std::nullopt;
  return std::atoi(line.c_str() + at + marker.size());
}

class ServerTlsFlagsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(testing::MakeTestPki(MakeDir("pki"), &pki_, &error)) << error;
  }
  std::string MakeDir(const std::string& name) {
    std::filesystem::create_directories(dir_.Sub(name));
    return dir_.Sub(name);
  }
  std::vector<std::string> ServerArgs() const {
    return {LODESTONE_SERVER_BINARY,          "--listen=127.0.0.1:0",
            "--metrics_listen=127.0.0.1:0",   "--http_listen=127.0.0.1:0",
            "--data_dir=" + dir_.Sub("data"), "--sync=false"};
  }
  std::vector<std::string> TlsArgs() const {
    return {"--tls_cert=" + pki_.server_cert, "--tls_key=" + pki_.server_key,
            "--tls_ca=" + pki_.ca_cert};
  }
  static std::vector<std::string> Join(std::vector<std::string> a,
                                       const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  }

  testing::TempDir dir_;
  testing::TestPki pki_;
};

TEST_F(ServerTlsFlagsTest, ServesMutualTlsAndPlaintextHealth) {
  testing::ChildProcess server;
  ASSERT_TRUE(server.Start(Join(Join(ServerArgs(), TlsArgs()), {"--health_listen=127.0.0.1:0"})));
  const auto transport_line =
      server.WaitForLine("plain-text health on port", std::chrono::seconds(30));
  ASSERT_TRUE(transport_line.has_value()) << server.output();
  EXPECT_THAT(*transport_line, HasSubstr("client certificates required"));
  const auto serving_line = server.WaitForLine("serving gRPC on port", std::chrono::seconds(30));
  ASSERT_TRUE(serving_line.has_value()) << server.output();
  const std::optional<int> health_port = PortAfter(*transport_line, "plain-text health on port ");
  const std::optional<int> port = PortAfter(*serving_line, "serving gRPC on port ");
  ASSERT_TRUE(health_port && port && *health_port > 0 && *port > 0) << server.output();
  const std::string target = "--server=127.0.0.1:" + std::to_string(*port);
  const std::string health_target = "127.0.0.1:" + std::to_string(*health_port);

  // lodectl with the CA and a client certificate: served.
  ProgramRun run =
      RunProgram({LODECTL_BINARY, target, "--tls_ca=" + pki_.ca_cert,
                  "--tls_cert=" + pki_.client_cert, "--tls_key=" + pki_.client_key, "head"});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("size 0"));
  // The health check over TLS on the main port works too.
  run = RunProgram({LODECTL_BINARY, target, "--tls_ca=" + pki_.ca_cert,
                    "--tls_cert=" + pki_.client_cert, "--tls_key=" + pki_.client_key, "health"});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("SERVING"));
  // Without a client certificate, or in plain text: unreachable (exit 3).
  run = RunProgram({LODECTL_BINARY, target, "--tls_ca=" + pki_.ca_cert, "head"});
  EXPECT_EQ(run.exit_code, 3) << run.output;
  run = RunProgram({LODECTL_BINARY, target, "head"});
  EXPECT_EQ(run.exit_code, 3) << run.output;
  // lodectl's own TLS errors name the file (exit 2).
  run = RunProgram({LODECTL_BINARY, target, "--tls_ca=" + dir_.Sub("missing-ca.crt"), "head"});
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_THAT(run.output, HasSubstr(dir_.Sub("missing-ca.crt")));

  // The health port, in plain text: Health only.
  run = RunProgram({LODECTL_BINARY, "--server=" + health_target, "health"});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("SERVING"));
  auto channel = grpc::CreateChannel(health_target, grpc::InsecureChannelCredentials());
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::health::v1::HealthCheckResponse response;
    const grpc::Status status = grpc::health::v1::Health::NewStub(channel)->Check(
        &context, grpc::health::v1::HealthCheckRequest(), &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  }
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::Head head;
    const grpc::Status status =
        v1::LedgerService::NewStub(channel)->GetHead(&context, v1::GetHeadRequest(), &head);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << status.error_message();
  }

  server.Signal(SIGTERM);
  const int status = server.Wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

// --tls_listen: the main port stays plain text for the local administrator, the second port
// names its callers by their client certificates (the shape `make run` uses for the demo).
TEST_F(ServerTlsFlagsTest, TlsListenNamesPartiesWhileTheLoopbackPortIsTheAdministrator) {
  std::string error;
  ASSERT_TRUE(testing::pki_internal::MakeLeaf(
      pki_.dir, "party-x", "party x", "ca",
      "extendedKeyUsage = clientAuth\nsubjectAltName = URI:urn:lodestone:party:x\n", 3001, &error))
      << error;
  testing::ChildProcess server;
  ASSERT_TRUE(server.Start(Join(Join(ServerArgs(), TlsArgs()), {"--tls_listen=127.0.0.1:0"})));
  const auto transport_line = server.WaitForLine("on TLS port", std::chrono::seconds(30));
  ASSERT_TRUE(transport_line.has_value()) << server.output();
  const auto serving_line = server.WaitForLine("serving gRPC on port", std::chrono::seconds(30));
  ASSERT_TRUE(serving_line.has_value()) << server.output();
  const std::optional<int> tls_port = PortAfter(*transport_line, "on TLS port ");
  const std::optional<int> port = PortAfter(*serving_line, "serving gRPC on port ");
  ASSERT_TRUE(tls_port && port && *tls_port > 0 && *port > 0) << server.output();
  const std::string plain = "--server=127.0.0.1:" + std::to_string(*port);
  const std::vector<std::string> as_x = {
      LODECTL_BINARY, "--server=127.0.0.1:" + std::to_string(*tls_port), "--tls_ca=" + pki_.ca_cert,
      "--tls_cert=" + pki_.dir + "/party-x.crt", "--tls_key=" + pki_.dir + "/party-x.key"};
  auto write = [&](const std::string& name, const std::string& text) {
    const std::string path = dir_.Sub(name);
    FILE* file = std::fopen(path.c_str(), "w");
    std::fputs(text.c_str(), file);
    std::fclose(file);
    return path;
  };
  // The administrator, in plain text on loopback, registers party x and its mine.
  ProgramRun run = RunProgram(
      {LODECTL_BINARY, plain, "--progress=false", "append",
       write(
           "setup.ndjson",
           R"({"eventId":"e-x","eventTime":"2026-01-01T00:00:00Z","subject":"party/x","actor":"x","partyRegistered":{"partyId":"x","name":"X","country":"AU"}}
{"eventId":"e-f","eventTime":"2026-01-01T00:00:00Z","subject":"facility/x-mine","actor":"x","facilityRegistered":{"facilityId":"x-mine","operatorPartyId":"x","country":"AU","kind":"FACILITY_KIND_MINE"}}
)")});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("2 accepted"));
  // Party x, over mutual TLS, extracts a lot at its own mine: attested by x.
  run = RunProgram(Join(
      as_x,
      {"--progress=false", "append",
       write(
           "lot.ndjson",
           R"({"eventId":"e-lot","eventTime":"2026-01-02T00:00:00Z","subject":"lot/ore","actor":"x","lotExtracted":{"lotId":"ore","material":"MATERIAL_ANTIMONY_ORE","hsCode":"261710","massG":"1000","facilityId":"x-mine"}}
)")}));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  // ... but may not register a facility (the registrar's), and that batch appends nothing.
  run = RunProgram(Join(
      as_x,
      {"--progress=false", "append",
       write(
           "facility.ndjson",
           R"({"eventId":"e-f2","eventTime":"2026-01-02T00:00:00Z","subject":"facility/x-mill","actor":"x","facilityRegistered":{"facilityId":"x-mill","operatorPartyId":"x","country":"AU","kind":"FACILITY_KIND_SMELTER"}}
)")}));
  EXPECT_NE(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("registrar"));
  run = RunProgram({LODECTL_BINARY, plain, "head", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const std::string head_file = write("head.json", run.output);
  run = RunProgram({LODECTL_BINARY, plain, "verify", "event", "e-lot", "--head_file=" + head_file});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("trusted tree of size 3"));
  EXPECT_THAT(run.output, HasSubstr("attested by x"));
  run = RunProgram({LODECTL_BINARY, plain, "verify", "event", "e-x", "--head_file=" + head_file});
  EXPECT_THAT(run.output, HasSubstr("attested by lodestone-admin"));
  // The TLS port wants a client certificate; it does not speak plain text.
  run = RunProgram({LODECTL_BINARY, as_x[1], "--tls_ca=" + pki_.ca_cert, "head"});
  EXPECT_EQ(run.exit_code, 3) << run.output;
  run = RunProgram({LODECTL_BINARY, as_x[1], "head"});
  EXPECT_EQ(run.exit_code, 3) << run.output;

  server.Signal(SIGTERM);
  const int status = server.Wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST_F(ServerTlsFlagsTest, BadTlsFlagsStopTheServerWithAMessage) {
  struct Case {
    std::vector<std::string> flags;
    std::string message;
  };
  const std::string missing = dir_.Sub("missing.crt");
  const std::vector<Case> cases = {
      {{"--tls_cert=" + pki_.server_cert}, "--tls_cert is set but --tls_key is not"},
      {{"--tls_key=" + pki_.server_key, "--tls_ca=" + pki_.ca_cert},
       "--tls_key is set but --tls_cert is not"},
      {{"--tls_ca=" + pki_.ca_cert}, "--tls_ca is set without --tls_cert and --tls_key"},
      {{"--tls_cert=" + missing, "--tls_key=" + pki_.server_key}, "TLS certificate " + missing},
      {{"--tls_cert=" + pki_.server_cert, "--tls_key=" + pki_.client_key},
       "does not belong to the first certificate"},
      {{"--tls_cert=" + pki_.server_cert, "--tls_key=" + pki_.server_key,
        "--tls_ca=" + pki_.server_key},
       "TLS CA certificates " + pki_.server_key + " holds no PEM certificate"},
      {{"--tls_listen=127.0.0.1:0", "--tls_cert=" + pki_.server_cert,
        "--tls_key=" + pki_.server_key},
       "--tls_listen needs --tls_cert, --tls_key and --tls_ca"},
      {{"--tls_listen=127.0.0.1:0"}, "--tls_listen needs"},
  };
  for (const Case& c : cases) {
    const ProgramRun run = RunProgram(Join(ServerArgs(), c.flags));
    EXPECT_EQ(run.exit_code, 2) << run.output;  // a bad configuration (docs/operations.md)
    EXPECT_THAT(run.output, HasSubstr(c.message));
    // Refused before anything was opened.
    EXPECT_FALSE(std::filesystem::exists(dir_.Sub("data"))) << run.output;
  }
}

}  // namespace
}  // namespace lodestone
