// lodestone-loadgen --signing_key against lodestone-ledger on port 0 (plain text on loopback, so
// the loadgen is the bootstrap administrator): it registers the administrator's key, signs every
// event it generates, and the ledger stores them with signatures that verify under that key; a
// wrong key, or no signature once the key is registered, is PERMISSION_DENIED and appends nothing.
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "lodestone/v1/ledger.grpc.pb.h"
#include "services/codec/event_codec.h"
#include "services/crypto/ed25519.h"
#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"

namespace lodestone {
namespace {

using ::testing::HasSubstr;

constexpr char kAdmin[] = "lodestone-admin";  // the ledger's default --admin_party

struct ProgramRun {
  int exit_code = -1;  // -1: did not exit normally
  std::string output;  // stdout and stderr
};

class SignedLoadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ledger_.Start({LODESTONE_LEDGER_BINARY, "--listen=127.0.0.1:0",
                               "--metrics_listen=127.0.0.1:0", "--sync=false",
                               "--data_dir=" + dir_.Sub("ledger")}));
    const auto line = ledger_.WaitForLine("serving gRPC on port", std::chrono::seconds(30));
    ASSERT_TRUE(line.has_value()) << ledger_.output();
    const std::string marker = "serving gRPC on port ";
    target_ = "127.0.0.1:" +
              std::to_string(std::atoi(line->c_str() + line->find(marker) + marker.size()));
    stub_ = v1::LedgerService::NewStub(
        grpc::CreateChannel(target_, grpc::InsecureChannelCredentials()));
  }

  // A new Ed25519 key written as PEM; returns its path.
  std::string KeyFile(const std::string& name, std::string* key_id) {
    auto key = crypto::SigningKey::Generate();
    EXPECT_TRUE(key.ok()) << key.status();
    if (!key.ok()) return "";
    std::ofstream(dir_.Sub(name)) << key->PrivateKeyPem();
    *key_id = crypto::KeyId(key->PublicKey());
    public_keys_[*key_id] = key->PublicKey();
    return dir_.Sub(name);
  }

  // Runs the loadgen with `flags` to completion, stderr folded into stdout.
  ProgramRun Loadgen(const std::string& flags) {
    testing::ChildProcess child;
    const std::string command = std::string("exec ") + LODESTONE_LOADGEN_BINARY +
                                " --target=" + target_ + " --channels=1 --seconds=0.3 " + flags +
                                " 2>&1";
    ProgramRun run;
    if (!child.Start({"/bin/sh", "-c", command})) return run;
    // Reads every line until the program closes its output (no line has this text).
    (void)child.WaitForLine("\x01", std::chrono::seconds(60));
    run.output = child.output();
    const int status = child.Wait();
    if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
    return run;
  }

  std::vector<v1::StoredEvent> ReadAll() {
    std::vector<v1::StoredEvent> events;
    uint64_t from = 0;
    while (true) {
      v1::ReadAllRequest request;
      request.set_from_position(from);
      request.set_max_events(1000);
      v1::ReadAllResponse response;
      grpc::ClientContext context;
      const grpc::Status status = stub_->ReadAll(&context, request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok() || response.events().empty()) return events;
      for (const auto& e : response.events()) events.push_back(e);
      from = response.next_position();
      if (from >= response.log_size()) return events;
    }
  }

  testing::TempDir dir_;
  testing::ChildProcess ledger_;
  std::string target_;
  std::unique_ptr<v1::LedgerService::Stub> stub_;
  std::map<std::string, std::string> public_keys_;  // key id -> raw public key
};

// The table's error column (the last) of every scenario row is 0.
void ExpectNoErrors(const std::string& output, const std::vector<std::string>& scenarios) {
  for (const auto& scenario : scenarios) {
    const size_t row = output.find("\n" + scenario + " ");
    ASSERT_NE(row, std::string::npos) << output;
    const std::string line = output.substr(row + 1, output.find('\n', row + 1) - row - 1);
    EXPECT_EQ(line.substr(line.find_last_of(' ') + 1), "0") << line;
  }
}

TEST_F(SignedLoadTest, EveryGeneratedEventIsStoredSignedByTheRegisteredKey) {
  std::string key_id;
  const std::string key = KeyFile("key.pem", &key_id);
  ProgramRun first =
      Loadgen("--signing_key=" + key + " --scenarios=single1,batch20x2 --prebuilt_events=200");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  // The party and its key are the first two events (unsigned, before the key exists).
  EXPECT_THAT(first.output,
              HasSubstr("signing: key " + key_id + " of " + kAdmin + " registered at position 1"));
  ExpectNoErrors(first.output, {"single1", "batch20x2"});
  EXPECT_THAT(first.output, HasSubstr("batch20x2: 200 events built and signed before the clock"));

  // A second run finds the registration and signs as well.
  ProgramRun second = Loadgen("--signing_key=" + key + " --scenarios=batch5x1");
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_THAT(second.output, HasSubstr("registered at position 1\n"));
  ExpectNoErrors(second.output, {"batch5x1"});

  const std::vector<v1::StoredEvent> events = ReadAll();
  ASSERT_GT(events.size(), 2u + 2 + 20 * 2);  // two mine set-ups and at least one batch each
  EXPECT_TRUE(events[0].event().has_party_registered());
  ASSERT_TRUE(events[1].event().has_signing_key_registered());
  EXPECT_EQ(events[1].event().signing_key_registered().key_id(), key_id);
  for (size_t i = 2; i < events.size(); ++i) {
    const v1::Event& event = events[i].event();
    SCOPED_TRACE(event.event_id());
    EXPECT_EQ(event.attested_by(), kAdmin);
    ASSERT_EQ(event.signature().key_id(), key_id);
    EXPECT_TRUE(crypto::VerifySignature(public_keys_[key_id], codec::SignedMessage(event),
                                        event.signature().signature()));
    // One changed byte of the signed content no longer verifies.
    v1::Event changed = event;
    changed.set_actor(event.actor() + "x");
    EXPECT_FALSE(crypto::VerifySignature(public_keys_[key_id], codec::SignedMessage(changed),
                                         event.signature().signature()));
  }
}

TEST_F(SignedLoadTest, AWrongKeyOrNoSignatureIsPermissionDeniedAndAppendsNothing) {
  std::string key_id, wrong_id;
  const std::string key = KeyFile("key.pem", &key_id);
  const std::string wrong = KeyFile("wrong.pem", &wrong_id);
  ASSERT_EQ(Loadgen("--signing_key=" + key + " --scenarios=").exit_code, 0);
  const size_t size = ReadAll().size();

  // Signed with a key the ledger does not know for the administrator: the set-up batch is
  // refused (gRPC code 7, PERMISSION_DENIED) before the scenarios.
  ProgramRun signed_wrong =
      Loadgen("--signing_key=" + wrong + " --register_key=false --scenarios=single1");
  EXPECT_EQ(signed_wrong.exit_code, 1) << signed_wrong.output;
  EXPECT_THAT(signed_wrong.output, HasSubstr("setup failed: 7: events[0]: event '"));
  EXPECT_THAT(signed_wrong.output, HasSubstr("signing key '" + wrong_id + "' is not a key of '" +
                                             kAdmin + "' (rule: signature)"));

  // Registering the wrong key unsigned: the administrator has a key now, so its events (this
  // registration too) must be signed.
  ProgramRun register_wrong = Loadgen("--signing_key=" + wrong + " --scenarios=single1");
  EXPECT_EQ(register_wrong.exit_code, 1) << register_wrong.output;
  EXPECT_THAT(register_wrong.output, HasSubstr("registering signing key " + wrong_id));
  EXPECT_THAT(register_wrong.output, HasSubstr(": 7: "));
  EXPECT_THAT(
      register_wrong.output,
      HasSubstr("has a registered signing key: its events must be signed (rule: signature)"));

  // Unsigned load once the key is registered.
  ProgramRun unsigned_run = Loadgen("--scenarios=single1");
  EXPECT_EQ(unsigned_run.exit_code, 1) << unsigned_run.output;
  EXPECT_THAT(unsigned_run.output, HasSubstr("setup failed: 7: "));
  EXPECT_THAT(unsigned_run.output, HasSubstr("its events must be signed (rule: signature)"));

  EXPECT_EQ(ReadAll().size(), size);

  // A key file that is not an Ed25519 private key stops the loadgen before it connects.
  std::ofstream(dir_.Sub("garbage.pem")) << "not a key\n";
  ProgramRun garbage = Loadgen("--signing_key=" + dir_.Sub("garbage.pem"));
  EXPECT_EQ(garbage.exit_code, 2) << garbage.output;
  EXPECT_THAT(garbage.output, HasSubstr("signing key " + dir_.Sub("garbage.pem") + ": "));
}

}  // namespace
}  // namespace lodestone
