// TLS between the ledger and etcd: a real 3-member etcd on loopback with https:// client and peer
// URLs and --client-cert-auth, throwaway certificates made with openssl. A client with a node
// certificate from the CA reads and writes; one without a certificate, with a certificate of
// another CA, or in plain text is refused; lodestone-ledger processes with --etcd_tls_* replicate
// through it, and a node whose certificate etcd does not trust never learns the log.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/security/credentials.h"
#include "lodestone/v1/ledger.grpc.pb.h"
#include "services/loadgen/workload.h"
#include "services/replication/etcd_client.h"
#include "services/rpc/tls.h"
#include "tests/services/rpc/test_certs.h"
#include "tests/support/child_process.h"
#include "tests/support/etcd_cluster.h"
#include "tests/support/ledger_cluster.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait_until.h"

namespace lodestone {
namespace {

using replication::EtcdClient;
using replication::EtcdClientOptions;

namespace lg = ::lodestone::loadgen;

// The certificates of the suite: MakeTestPki's CAs, plus node certificates with the one identity
// URI SAN urn:lodestone:node:<id> (what a ledger node presents, to etcd as to its peers).
struct Pki {
  testing::TestPki base;
  std::string NodeCert(const std::string& id) const { return base.dir + "/node-" + id + ".crt"; }
  std::string NodeKey(const std::string& id) const { return base.dir + "/node-" + id + ".key"; }
};

bool MakeNodeCert(const testing::TestPki& pki, const std::string& id, const std::string& ca,
                  int serial, std::string* error) {
  return testing::pki_internal::MakeLeaf(pki.dir, "node-" + id, id, ca,
                                         "extendedKeyUsage = serverAuth, clientAuth\n"
                                         "subjectAltName = URI:urn:lodestone:node:" +
                                             id + ", IP:127.0.0.1\n",
                                         serial, error);
}

class EtcdTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    pki_ = new Pki();
    std::string error;
    if (!testing::MakeTestPki(dir_->path(), &pki_->base, &error) ||
        !MakeNodeCert(pki_->base, "node0", "ca", 3001, &error) ||
        !MakeNodeCert(pki_->base, "node1", "ca", 3002, &error) ||
        !MakeNodeCert(pki_->base, "rogue", "other-ca", 3003, &error)) {
      setup_error_ = new std::string("certificates: " + error);
      return;
    }
    etcd_ = new testing::EtcdCluster(testing::EtcdClusterOptions{
        .tls =
            testing::EtcdTls{pki_->base.ca_cert, pki_->base.server_cert, pki_->base.server_key}});
    if (!etcd_->Start()) setup_error_ = new std::string("etcd: " + etcd_->error());
  }
  static void TearDownTestSuite() {
    delete etcd_;
    delete pki_;
    delete dir_;
    delete setup_error_;
  }
  void SetUp() override {
    if (setup_error_ != nullptr) FAIL() << *setup_error_;
  }

  static std::shared_ptr<grpc::ChannelCredentials> Credentials(const rpc::TlsFiles& files) {
    auto credentials = rpc::ClientTlsCredentials(files);
    EXPECT_TRUE(credentials.ok()) << credentials.status();
    return credentials.ok() ? *credentials : nullptr;
  }
  static std::shared_ptr<grpc::ChannelCredentials> NodeCredentials(const std::string& id) {
    return Credentials({pki_->NodeCert(id), pki_->NodeKey(id), pki_->base.ca_cert});
  }

  // A client that gives up quickly: a refused handshake is UNAVAILABLE within the call time.
  static absl::StatusOr<std::unique_ptr<EtcdClient>> Client(
      std::shared_ptr<grpc::ChannelCredentials> credentials, std::string endpoints = "") {
    EtcdClientOptions options;
    options.endpoints = endpoints.empty() ? etcd_->endpoints() : endpoints;
    options.call_timeout = absl::Milliseconds(1500);
    options.attempt_timeout = absl::Milliseconds(500);
    options.tls_credentials = std::move(credentials);
    return EtcdClient::Create(options);
  }

  static testing::TempDir* dir_;
  static Pki* pki_;
  static testing::EtcdCluster* etcd_;
  static std::string* setup_error_;
};

testing::TempDir* EtcdTlsTest::dir_ = nullptr;
Pki* EtcdTlsTest::pki_ = nullptr;
testing::EtcdCluster* EtcdTlsTest::etcd_ = nullptr;
std::string* EtcdTlsTest::setup_error_ = nullptr;

TEST(EtcdTlsCreateTest, EndpointSchemesMustAgreeWithTheCredentials) {
  auto tls = grpc::SslCredentials(grpc::SslCredentialsOptions());
  // https:// without credentials, plain endpoints with credentials, and a mix of both.
  EXPECT_EQ(EtcdClient::Create({.endpoints = "https://127.0.0.1:2379"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  for (const char* endpoints :
       {"127.0.0.1:2379", "http://127.0.0.1:2379", "https://127.0.0.1:1,http://127.0.0.1:2",
        "https://127.0.0.1:1,127.0.0.1:2"}) {
    const absl::Status status =
        EtcdClient::Create({.endpoints = endpoints, .tls_credentials = tls}).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << endpoints;
    EXPECT_NE(status.message().find("is not https://"), std::string::npos) << status;
  }
  EXPECT_TRUE(EtcdClient::Create(
                  {.endpoints = "https://127.0.0.1:1, https://127.0.0.1:2", .tls_credentials = tls})
                  .ok());
}

TEST_F(EtcdTlsTest, NodeCertificateFromTheCaReadsAndWrites) {
  auto client = Client(NodeCredentials("node0"));
  ASSERT_TRUE(client.ok()) << client.status();
  auto revision = (*client)->Put("/tls/k", "v");
  ASSERT_TRUE(revision.ok()) << revision.status();
  auto kv = (*client)->Get("/tls/k");
  ASSERT_TRUE(kv.ok()) << kv.status();
  EXPECT_EQ(kv->value, "v");
}

TEST_F(EtcdTlsTest, ClientWithoutAValidCertificateIsRefused) {
  struct Case {
    const char* what;
    std::shared_ptr<grpc::ChannelCredentials> credentials;
    std::string endpoints;  // empty: the cluster's https:// endpoints
  };
  const std::vector<Case> cases = {
      {"no client certificate", Credentials({"", "", pki_->base.ca_cert}), ""},
      {"a certificate of another CA",
       Credentials({pki_->NodeCert("rogue"), pki_->NodeKey("rogue"), pki_->base.ca_cert}), ""},
      {"plain text", nullptr, absl::StrCat("http://", etcd_->endpoint(0))},
  };
  for (const Case& c : cases) {
    auto client = Client(c.credentials, c.endpoints);
    ASSERT_TRUE(client.ok()) << c.what << ": " << client.status();
    const absl::Status put = (*client)->Put("/tls/refused", c.what).status();
    EXPECT_EQ(put.code(), absl::StatusCode::kUnavailable) << c.what << ": " << put;
  }
  // Nothing of theirs was written.
  auto client = Client(NodeCredentials("node0"));
  ASSERT_TRUE(client.ok());
  EXPECT_EQ((*client)->Get("/tls/refused").status().code(), absl::StatusCode::kNotFound);
}

// The server certificate of the etcd members is verified too: a client trusting another CA does
// not talk to them.
TEST_F(EtcdTlsTest, EtcdOfAnUntrustedCaIsRefused) {
  auto client = Client(
      Credentials({pki_->NodeCert("node0"), pki_->NodeKey("node0"), pki_->base.other_ca_cert}));
  ASSERT_TRUE(client.ok());
  EXPECT_EQ((*client)->Put("/tls/untrusted", "v").status().code(), absl::StatusCode::kUnavailable);
}

std::vector<std::string> EtcdTlsFlags(const Pki& pki, const std::string& id) {
  return {"--etcd_tls_cert=" + pki.NodeCert(id), "--etcd_tls_key=" + pki.NodeKey(id),
          "--etcd_tls_ca=" + pki.base.ca_cert};
}

TEST_F(EtcdTlsTest, LedgerNodesWithCertificatesReplicateAndANodeWithoutOneLearnsNothing) {
  testing::TempDir dir;
  testing::LedgerCluster cluster(testing::LedgerClusterOptions{
      .binary = LODESTONE_LEDGER_BINARY,
      .root_dir = dir.path(),
      .etcd_endpoints = etcd_->endpoints(),
      .cluster = "tls",
      .nodes = 2,
      .lease_ttl_ms = 1500,
      // Each node presents its own certificate to etcd.
      .node_flags = {EtcdTlsFlags(*pki_, "node0"), EtcdTlsFlags(*pki_, "node1")},
      .etcd_credentials = NodeCredentials("node0")});
  ASSERT_TRUE(cluster.Start()) << cluster.error();
  EXPECT_NE(
      cluster.node(0).output().find("etcd " + etcd_->endpoints() + " (TLS, client certificate "),
      std::string::npos)
      << cluster.node(0).output();
  ASSERT_GE(cluster.WaitForLeader(std::chrono::seconds(20)), 0) << cluster.DescribeLeadership();

  // A third node of the same cluster whose certificate etcd does not trust.
  testing::LedgerNode rogue(testing::LedgerNodeOptions{
      .binary = LODESTONE_LEDGER_BINARY,
      .data_dir = dir.path() + "/rogue",
      .etcd_endpoints = etcd_->endpoints(),
      .node_id = "rogue",
      .extra_flags = {"--cluster=tls", "--etcd_tls_cert=" + pki_->NodeCert("rogue"),
                      "--etcd_tls_key=" + pki_->NodeKey("rogue"),
                      "--etcd_tls_ca=" + pki_->base.ca_cert}});
  // (The rogue certificate is valid, from another CA: etcd refuses the handshake.)
  ASSERT_TRUE(rogue.Start()) << rogue.error();

  v1::AppendResponse response;
  ASSERT_TRUE(
      cluster.AppendWithRetry(lg::MineSetup("m", "AU"), &response, std::chrono::seconds(20)).ok());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        cluster
            .AppendWithRetry({lg::LotExtracted(absl::StrCat("e", i), absl::StrCat("L", i), "m-mine",
                                               v1::MATERIAL_ANTIMONY_ORE, "261710", 1000 + i)},
                             &response, std::chrono::seconds(20))
            .ok());
  }
  ASSERT_TRUE(cluster.WaitConverged(std::chrono::seconds(10))) << cluster.DescribeLeadership();
  auto head = cluster.node(0).Head();
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->size(), 7u);

  // The rogue node serves reads of its own (empty) log, but never learns the cluster's log, never
  // leads, and cannot forward an append: it knows no leader (its election lookup in etcd fails
  // for the etcd client's 5 s call deadline, then the append is UNAVAILABLE).
  auto rogue_head = rogue.Head();
  ASSERT_TRUE(rogue_head.has_value());
  EXPECT_EQ(rogue_head->size(), 0u);
  EXPECT_EQ(rogue.Metric("lodestone_replication_is_leader").value_or(-1), 0);
  v1::AppendRequest request;
  *request.add_events() = lg::PartyRegistered("via-rogue", "via-rogue", "AU");
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(15));
  const grpc::Status refused = rogue.stub()->Append(&context, request, &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE) << refused.error_message();
  EXPECT_EQ(cluster.node(0).Head()->size(), 7u);
  EXPECT_EQ(rogue.Head()->size(), 0u);
}

// The flags are checked at startup, before any data is opened, naming the flag.
TEST_F(EtcdTlsTest, BadEtcdTlsFlagsStopTheLedgerAtOnce) {
  testing::TempDir dir;
  struct Case {
    std::vector<std::string> flags;
    std::string message;
  };
  const std::string endpoints = "--etcd_endpoints=" + etcd_->endpoints();
  const std::vector<Case> cases = {
      {{endpoints, "--etcd_tls_cert=" + pki_->NodeCert("node0")},
       "--etcd_tls_cert is set but --etcd_tls_key is not"},
      {{absl::StrCat("--etcd_endpoints=http://", etcd_->endpoint(0)),
        "--etcd_tls_ca=" + pki_->base.ca_cert},
       "is not https:// but the etcd client uses TLS"},
      {{"--etcd_tls_ca=" + pki_->base.ca_cert}, "need --etcd_endpoints"},
      {{endpoints, "--etcd_tls_ca=" + dir.path() + "/missing.crt"}, "missing.crt"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"/bin/sh",
                                     "-c",
                                     "exec \"$@\" 2>&1",
                                     "sh",
                                     LODESTONE_LEDGER_BINARY,
                                     "--listen=127.0.0.1:0",
                                     "--metrics_listen=127.0.0.1:0",
                                     "--data_dir=" + dir.path() + "/data"};
    args.insert(args.end(), c.flags.begin(), c.flags.end());
    testing::ChildProcess child;
    ASSERT_TRUE(child.Start(args));
    EXPECT_FALSE(child.WaitForLine("serving gRPC", std::chrono::seconds(20)).has_value());
    const int status = child.Wait();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2)
        << c.message << ": " << status;  // bad configuration
    EXPECT_NE(child.output().find(c.message), std::string::npos) << child.output();
  }
}

}  // namespace
}  // namespace lodestone
