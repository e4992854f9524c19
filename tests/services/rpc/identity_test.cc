// Caller identity (services/rpc/identity.h) against real gRPC servers on loopback: client
// certificates made by openssl at test time with the URI SANs under test, TLS without a client
// CA, and plain text with and without the local administrator.
#include "services/rpc/identity.h"

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/auth_context.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "lodestone/v1/ledger.grpc.pb.h"
#include "services/rpc/grpc_status.h"
#include "services/rpc/server_builder.h"
#include "services/rpc/tls.h"
#include "tests/services/rpc/test_certs.h"
#include "tests/support/temp_dir.h"

namespace lodestone::rpc {
namespace {

using ::testing::HasSubstr;

constexpr char kCallerHeader[] = "x-test-caller";

// GetHead answers with the caller CallerFromContext finds (as trailing metadata "kind:id"), or
// fails with its status. It also keeps the AuthContext properties of the last call.
class WhoAmI final : public v1::LedgerService::CallbackService {
 public:
  explicit WhoAmI(IdentityOptions options) : options_(options) {}

  grpc::ServerUnaryReactor* GetHead(grpc::CallbackServerContext* context, const v1::GetHeadRequest*,
                                    v1::Head*) override {
    auto* reactor = context->DefaultReactor();
    {
      std::lock_guard lock(mu_);
      properties_.clear();
      if (const auto auth = context->auth_context(); auth != nullptr) {
        for (const auto& [name, value] : *auth) {
          properties_.emplace(std::string(name.data(), name.size()),
                              std::string(value.data(), value.size()));
        }
      }
    }
    const absl::StatusOr<Caller> caller = CallerFromContext(*context, options_);
    if (!caller.ok()) {
      reactor->Finish(ToGrpcStatus(caller.status()));
      return reactor;
    }
    context->AddTrailingMetadata(
        kCallerHeader, absl::StrCat(std::string(CallerKindName(caller->kind)), ":", caller->id));
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  std::multimap<std::string, std::string> properties() {
    std::lock_guard lock(mu_);
    return properties_;
  }

 private:
  const IdentityOptions options_;
  std::mutex mu_;
  std::multimap<std::string, std::string> properties_;
};

// "kind:id" for a call that succeeded, else the status code and message.
struct Answer {
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  std::string message;  // the error message, or "kind:id" when OK
};

Answer Ask(const std::string& target,
           const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
  auto stub = v1::LedgerService::NewStub(grpc::CreateChannel(target, credentials));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::Head head;
  const grpc::Status status = stub->GetHead(&context, v1::GetHeadRequest(), &head);
  Answer answer{status.error_code(), status.error_message()};
  if (status.ok()) {
    const auto& trailers = context.GetServerTrailingMetadata();
    const auto found = trailers.find(kCallerHeader);
    answer.message = found == trailers.end()
                         ? "(none)"
                         : std::string(found->second.data(), found->second.size());
  }
  return answer;
}

// Client certificates signed by the test CA, by name, with these extensions.
struct LeafSpec {
  const char* name;
  const char* subject_alt_name;  // the subjectAltName value
};
constexpr LeafSpec kLeaves[] = {
    {"party", "URI:urn:lodestone:party:acme"},
    {"node", "URI:urn:lodestone:node:ledger-0"},
    {"party-and-spiffe", "URI:spiffe://lodestone.test/acme, URI:urn:lodestone:party:acme.co/eu-1"},
    {"spiffe-only", "URI:spiffe://lodestone.test/acme, DNS:acme.example"},
    {"two-parties", "URI:urn:lodestone:party:acme, URI:urn:lodestone:party:other"},
    {"party-and-node", "URI:urn:lodestone:party:acme, URI:urn:lodestone:node:ledger-0"},
    {"cased-second-claim", "URI:urn:lodestone:party:acme, URI:URN:Lodestone:PARTY:other"},
    {"malformed-id", "URI:urn:lodestone:party:ac!me"},
    {"empty-id", "URI:urn:lodestone:party:"},
    {"unknown-kind", "URI:urn:lodestone:auditor:acme"},
    {"cased-only", "URI:URN:LODESTONE:PARTY:acme"},
};

// The test CA (MakeTestPki) and every leaf of kLeaves, plus ids of 128 and 129 bytes.
struct Certificates {
  Certificates() {
    if (!testing::MakeTestPki(dir.path(), &pki, &error)) return;
    std::vector<std::pair<std::string, std::string>> leaves;
    for (const LeafSpec& leaf : kLeaves) leaves.emplace_back(leaf.name, leaf.subject_alt_name);
    leaves.emplace_back("long-id", absl::StrCat("URI:urn:lodestone:party:", std::string(129, 'a')));
    leaves.emplace_back("longest-id",
                        absl::StrCat("URI:urn:lodestone:party:", std::string(128, 'a')));
    int serial = 3001;
    for (const auto& [name, san] : leaves) {
      const std::string extensions =
          absl::StrCat("extendedKeyUsage = clientAuth\nsubjectAltName = ", san, "\n");
      if (!testing::pki_internal::MakeLeaf(dir.path(), name, name, "ca", extensions, serial++,
                                           &error)) {
        return;
      }
    }
  }

  testing::TempDir dir;
  testing::TestPki pki;
  std::string error;  // empty when every certificate was made
};

class IdentityTest : public ::testing::Test {
 protected:
  // Made once: openssl takes a while per certificate.
  static void SetUpTestSuite() { certificates_ = new Certificates(); }
  static void TearDownTestSuite() {
    delete certificates_;
    certificates_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(certificates_->error.empty()) << certificates_->error; }
  void TearDown() override {
    if (started_.server != nullptr) {
      started_.Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    }
  }

  const testing::TestPki& pki() const { return certificates_->pki; }
  const testing::TempDir& dir() const { return certificates_->dir; }

  // Starts WhoAmI on `address` with `credentials` (null = plain text).
  void Start(const IdentityOptions& options,
             const std::shared_ptr<grpc::ServerCredentials>& credentials,
             const std::string& address = "127.0.0.1:0") {
    service_ = std::make_unique<WhoAmI>(options);
    auto started = StartServer(address, {service_.get()}, {}, {credentials, ""});
    ASSERT_TRUE(started.ok()) << started.status();
    started_ = *std::move(started);
  }
  // mTLS: the server requires client certificates of the test CA.
  void StartMutualTls(const IdentityOptions& options = {.allow_local_admin = true}) {
    auto credentials = ServerTlsCredentials({pki().server_cert, pki().server_key, pki().ca_cert});
    ASSERT_TRUE(credentials.ok()) << credentials.status();
    Start(options, *credentials);
  }
  // The answer of the mTLS server to the client certificate `name`.
  Answer AskAs(const std::string& name) {
    auto credentials =
        ClientTlsCredentials({dir().Sub(name + ".crt"), dir().Sub(name + ".key"), pki().ca_cert});
    EXPECT_TRUE(credentials.ok()) << credentials.status();
    if (!credentials.ok()) return {};
    return Ask(Local(), *credentials);
  }
  std::string Local() const { return absl::StrCat("127.0.0.1:", started_.port); }

  static Certificates* certificates_;
  std::unique_ptr<WhoAmI> service_;
  StartedServer started_;
};

Certificates* IdentityTest::certificates_ = nullptr;

#define EXPECT_CALLER(answer, want)                           \
  do {                                                        \
    const Answer got = (answer);                              \
    EXPECT_EQ(got.code, grpc::StatusCode::OK) << got.message; \
    EXPECT_EQ(got.message, want);                             \
  } while (false)

#define EXPECT_UNAUTHENTICATED(answer, substring)                          \
  do {                                                                     \
    const Answer got = (answer);                                           \
    EXPECT_EQ(got.code, grpc::StatusCode::UNAUTHENTICATED) << got.message; \
    EXPECT_THAT(got.message, HasSubstr(substring));                        \
  } while (false)

// --- mutual TLS --------------------------------------------------------------------------------

TEST_F(IdentityTest, PartyCertificateNamesTheParty) {
  StartMutualTls();
  EXPECT_CALLER(AskAs("party"), "party:acme");
}

TEST_F(IdentityTest, NodeCertificateNamesTheNode) {
  StartMutualTls();
  EXPECT_CALLER(AskAs("node"), "node:ledger-0");
}

TEST_F(IdentityTest, OtherUrisBesideTheIdentityAreIgnored) {
  StartMutualTls();
  EXPECT_CALLER(AskAs("party-and-spiffe"), "party:acme.co/eu-1");
}

TEST_F(IdentityTest, LongestIdIsAccepted) {
  StartMutualTls();
  EXPECT_CALLER(AskAs("longest-id"), "party:" + std::string(128, 'a'));
}

TEST_F(IdentityTest, CertificateWithoutSanIsUnauthenticated) {
  StartMutualTls();
  EXPECT_UNAUTHENTICATED(AskAs("client"), "names no caller");
  EXPECT_UNAUTHENTICATED(AskAs("client"), "has no URI SAN");
  EXPECT_UNAUTHENTICATED(AskAs("spiffe-only"), "has only 'spiffe://lodestone.test/acme'");
}

TEST_F(IdentityTest, TwoIdentitiesAreUnauthenticated) {
  StartMutualTls();
  EXPECT_UNAUTHENTICATED(AskAs("two-parties"),
                         "names 2 callers ('urn:lodestone:party:acme', "
                         "'urn:lodestone:party:other'); it must name exactly one");
  EXPECT_UNAUTHENTICATED(AskAs("party-and-node"), "names 2 callers");
  // A second claim in other letter case counts: it cannot hide behind the first.
  EXPECT_UNAUTHENTICATED(AskAs("cased-second-claim"), "names 2 callers");
}

TEST_F(IdentityTest, MalformedIdsAreUnauthenticated) {
  StartMutualTls();
  EXPECT_UNAUTHENTICATED(AskAs("malformed-id"),
                         "URI SAN 'urn:lodestone:party:ac!me' has a malformed party id");
  EXPECT_UNAUTHENTICATED(AskAs("empty-id"), "has a malformed party id: ids are 1 to 128 bytes");
  EXPECT_UNAUTHENTICATED(AskAs("long-id"), "has a malformed party id");
  EXPECT_UNAUTHENTICATED(AskAs("unknown-kind"),
                         "'urn:lodestone:auditor:acme' is not urn:lodestone:party:<id> or "
                         "urn:lodestone:node:<id>");
  EXPECT_UNAUTHENTICATED(AskAs("cased-only"), "is not urn:lodestone:party:<id>");
}

TEST_F(IdentityTest, LoopbackDoesNotMakeATlsCallerTheAdministrator) {
  // TLS without a client CA: no certificate is asked for, so nobody is named, even on loopback
  // with the local administrator allowed.
  auto credentials = ServerTlsCredentials({pki().server_cert, pki().server_key, ""});
  ASSERT_TRUE(credentials.ok()) << credentials.status();
  Start({.allow_local_admin = true}, *credentials);
  auto client = ClientTlsCredentials({"", "", pki().ca_cert});
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_UNAUTHENTICATED(Ask(Local(), *client), "presented no client certificate");
}

TEST_F(IdentityTest, GrpcExposesTheLeafCertificateAsPem) {
  // What CallerFromContext relies on: gRPC 1.51 gives the verified leaf as "x509_pem_cert".
  StartMutualTls();
  EXPECT_CALLER(AskAs("party-and-spiffe"), "party:acme.co/eu-1");
  const auto properties = service_->properties();
  ASSERT_EQ(properties.count("x509_pem_cert"), 1u);
  const std::string pem = properties.find("x509_pem_cert")->second;
  EXPECT_EQ(pem, testing::pki_internal::ReadText(dir().Sub("party-and-spiffe.crt")));
  EXPECT_EQ(properties.find("transport_security_type")->second, "ssl");
  for (const auto& [name, value] : properties) {
    if (name != "x509_pem_cert" && name != "x509_pem_cert_chain") {
      std::cout << "  auth property " << name << " = " << value << "\n";
    }
  }
}

// --- plain text --------------------------------------------------------------------------------

TEST_F(IdentityTest, PlaintextLoopbackCallerIsTheLocalAdministrator) {
  Start({.allow_local_admin = true}, nullptr);
  EXPECT_CALLER(Ask(Local(), grpc::InsecureChannelCredentials()), "local-admin:");
}

TEST_F(IdentityTest, PlaintextCallerWithoutLocalAdministratorIsUnauthenticated) {
  Start({.allow_local_admin = false}, nullptr);
  EXPECT_UNAUTHENTICATED(Ask(Local(), grpc::InsecureChannelCredentials()),
                         "a plain-text caller (ipv4:127.0.0.1:");
}

TEST_F(IdentityTest, PlaintextUnixSocketCallerIsLocal) {
  const std::string address = "unix:" + dir().Sub("who.sock");
  Start({.allow_local_admin = true}, nullptr, address);
  EXPECT_CALLER(Ask(address, grpc::InsecureChannelCredentials()), "local-admin:");
}

// --- the parts ---------------------------------------------------------------------------------

TEST(IdentityPartsTest, LoopbackPeers) {
  for (const char* peer : {"ipv4:127.0.0.1:5000", "ipv4:127.255.1.2:1", "ipv6:[::1]:5000",
                           "ipv6:[::ffff:127.0.0.1]:5000", "unix:/tmp/s", "unix-abstract:x"}) {
    EXPECT_TRUE(IsLoopbackPeer(peer)) << peer;
  }
  for (const char* peer :
       {"ipv4:10.0.0.1:5000", "ipv4:128.0.0.1:5000", "ipv4:127.0.0.1", "ipv6:[::2]:5000",
        "ipv6:[::ffff:10.0.0.1]:5000", "ipv6:::1:5000", "ipv6:[::1", "ipv4:localhost:1", "",
        "127.0.0.1:5000", "unknown:127.0.0.1"}) {
    EXPECT_FALSE(IsLoopbackPeer(peer)) << peer;
  }
}

TEST(IdentityPartsTest, GarbledCertificateIsUnauthenticated) {
  auto caller = CallerFromCertificatePem("");
  EXPECT_EQ(caller.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(caller.status().message(), HasSubstr("cannot be parsed"));
  caller =
      CallerFromCertificatePem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  EXPECT_EQ(caller.status().code(), absl::StatusCode::kUnauthenticated);
}

TEST(IdentityPartsTest, KindNames) {
  EXPECT_EQ(CallerKindName(Caller::Kind::kParty), "party");
  EXPECT_EQ(CallerKindName(Caller::Kind::kNode), "node");
  EXPECT_EQ(CallerKindName(Caller::Kind::kLocalAdmin), "local-admin");
}

}  // namespace
}  // namespace lodestone::rpc
