// TLS for the gRPC servers and clients (services/rpc/tls.h) and the plain-text health port
// (services/rpc/server_builder.h), against real servers on loopback port 0 with a throwaway
// PKI made by openssl at test time.
#include "services/rpc/tls.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "gtest/gtest.h"
#include "lodestone/v1/ledger.grpc.pb.h"
#include "services/rpc/server_builder.h"
#include "tests/services/rpc/test_certs.h"
#include "tests/support/temp_dir.h"

namespace lodestone::rpc {
namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::testing::HasSubstr;

constexpr uint64_t kHeadSize = 7;

// LedgerService with GetHead (answers kHeadSize) and an Echo that is held until released.
class FakeLedger final : public v1::LedgerService::CallbackService {
 public:
  grpc::ServerUnaryReactor* GetHead(grpc::CallbackServerContext* context, const v1::GetHeadRequest*,
                                    v1::Head* response) override {
    response->set_size(kHeadSize);
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const v1::EchoRequest* request,
                                 v1::EchoResponse* response) override {
    response->set_payload(request->payload());
    auto* reactor = context->DefaultReactor();
    std::lock_guard lock(mu_);
    held_ = reactor;
    cv_.notify_all();
    return reactor;
  }
  bool WaitHeld(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return held_ != nullptr; });
  }
  void Release() {
    std::lock_guard lock(mu_);
    if (held_ != nullptr) held_->Finish(grpc::Status::OK);
    held_ = nullptr;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  grpc::ServerUnaryReactor* held_ = nullptr;
};

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    pki_ = new testing::TestPki();
    std::string error;
    pki_ok_ = testing::MakeTestPki(dir_->path(), pki_, &error);
    pki_error_ = new std::string(error);
  }
  static void TearDownTestSuite() {
    delete pki_error_;
    delete pki_;
    delete dir_;
  }
  void SetUp() override { ASSERT_TRUE(pki_ok_) << *pki_error_; }
  void TearDown() override {
    service_.Release();
    if (started_.server != nullptr) {
      started_.Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    }
  }

  const testing::TestPki& pki() const { return *pki_; }

  // Starts a server on 127.0.0.1:0 with the given transport (FakeLedger registered).
  void Start(const ServerTransport& transport) {
    auto started = StartServer("127.0.0.1:0", {&service_}, {}, transport);
    ASSERT_TRUE(started.ok()) << started.status();
    started_ = *std::move(started);
  }
  std::shared_ptr<grpc::ServerCredentials> ServerCredentials(const TlsFiles& files) {
    auto credentials = ServerTlsCredentials(files);
    EXPECT_TRUE(credentials.ok()) << credentials.status();
    return credentials.ok() ? *credentials : nullptr;
  }
  std::shared_ptr<grpc::ChannelCredentials> ClientCredentials(const TlsFiles& files) {
    auto credentials = ClientTlsCredentials(files);
    EXPECT_TRUE(credentials.ok()) << credentials.status();
    return credentials.ok() ? *credentials : nullptr;
  }

  // GetHead over a fresh channel (no wait for ready: a failed handshake fails the call).
  static grpc::Status GetHead(const std::string& target,
                              const std::shared_ptr<grpc::ChannelCredentials>& credentials,
                              v1::Head* head) {
    auto stub = v1::LedgerService::NewStub(grpc::CreateChannel(target, credentials));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return stub->GetHead(&context, v1::GetHeadRequest(), head);
  }
  static grpc::Status CheckHealth(const std::string& target,
                                  const std::shared_ptr<grpc::ChannelCredentials>& credentials,
                                  HealthCheckResponse* response, const std::string& service = "") {
    auto stub = Health::NewStub(grpc::CreateChannel(target, credentials));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    HealthCheckRequest request;
    request.set_service(service);
    return stub->Check(&context, request, response);
  }
  // A unary call of `method` with an empty message through the generic stub: UNIMPLEMENTED
  // exactly when the server has no such method.
  static grpc::Status CallMethod(const std::string& target, const std::string& method) {
    grpc::GenericStub stub(grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Slice empty("");
    grpc::ByteBuffer request(&empty, 1);
    grpc::ByteBuffer response;
    std::promise<grpc::Status> done;
    stub.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                   [&done](grpc::Status status) { done.set_value(status); });
    return done.get_future().get();
  }
  std::string Local(int port) const { return absl::StrCat("127.0.0.1:", port); }

  static testing::TempDir* dir_;
  static testing::TestPki* pki_;
  static bool pki_ok_;
  static std::string* pki_error_;
  FakeLedger service_;
  StartedServer started_;
};

testing::TempDir* TlsTest::dir_ = nullptr;
testing::TestPki* TlsTest::pki_ = nullptr;
bool TlsTest::pki_ok_ = false;
std::string* TlsTest::pki_error_ = nullptr;

// --- mutual TLS --------------------------------------------------------------------------------

TEST_F(TlsTest, ServesTlsClientWithClientCertificateFromTheCa) {
  Start({ServerCredentials({pki().server_cert, pki().server_key, pki().ca_cert}), ""});
  const auto client = ClientCredentials({pki().client_cert, pki().client_key, pki().ca_cert});
  v1::Head head;
  grpc::Status status = GetHead(Local(started_.port), client, &head);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(head.size(), kHeadSize);
  // The certificate's DNS name works too.
  status = GetHead(absl::StrCat("localhost:", started_.port), client, &head);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(TlsTest, RefusesPlaintextClient) {
  Start({ServerCredentials({pki().server_cert, pki().server_key, pki().ca_cert}), ""});
  v1::Head head;
  const grpc::Status status =
      GetHead(Local(started_.port), grpc::InsecureChannelCredentials(), &head);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
}

TEST_F(TlsTest, ClientTrustingAnotherCaRefusesTheServer) {
  Start({ServerCredentials({pki().server_cert, pki().server_key, pki().ca_cert}), ""});
  v1::Head head;
  const grpc::Status status =
      GetHead(Local(started_.port),
              ClientCredentials({pki().client_cert, pki().client_key, pki().other_ca_cert}), &head);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
}

TEST_F(TlsTest, RefusesClientWithoutCertificate) {
  Start({ServerCredentials({pki().server_cert, pki().server_key, pki().ca_cert}), ""});
  v1::Head head;
  const grpc::Status status =
      GetHead(Local(started_.port), ClientCredentials({"", "", pki().ca_cert}), &head);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
}

TEST_F(TlsTest, RefusesClientCertificateFromAnotherCa) {
  Start({ServerCredentials({pki().server_cert, pki().server_key, pki().ca_cert}), ""});
  v1::Head head;
  const grpc::Status status = GetHead(
      Local(started_.port),
      ClientCredentials({pki().other_client_cert, pki().other_client_key, pki().ca_cert}), &head);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
}

TEST_F(TlsTest, ClientVerifiesTheServerName) {
  Start({ServerCredentials({pki().server_cert, pki().server_key, pki().ca_cert}), ""});
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("not-in-the-certificate.example");
  auto stub = v1::LedgerService::NewStub(grpc::CreateCustomChannel(
      Local(started_.port), ClientCredentials({pki().client_cert, pki().client_key, pki().ca_cert}),
      args));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::Head head;
  const grpc::Status status = stub->GetHead(&context, v1::GetHeadRequest(), &head);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
}

TEST_F(TlsTest, WithoutCaTheServerAsksNoClientCertificate) {
  Start({ServerCredentials({pki().server_cert, pki().server_key, ""}), ""});
  v1::Head head;
  grpc::Status status =
      GetHead(Local(started_.port), ClientCredentials({"", "", pki().ca_cert}), &head);
  EXPECT_TRUE(status.ok()) << status.error_message();
  status = GetHead(Local(started_.port), grpc::InsecureChannelCredentials(), &head);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, ProgramTransportServesAndCallsWithTheSameFiles) {
  // What the programs do: one set of files is the server's certificate and the client identity
  // of their outgoing calls (a follower forwarding to the leader, provenance to the ledger).
  auto transport = ProgramTransportFromFlags({pki().server_cert, pki().server_key, pki().ca_cert});
  ASSERT_TRUE(transport.ok()) << transport.status();
  EXPECT_TRUE(transport->tls);
  EXPECT_THAT(transport->description, HasSubstr("client certificates required"));
  Start({transport->server, ""});
  v1::Head head;
  const grpc::Status status = GetHead(Local(started_.port), transport->client, &head);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(TlsTest, ProgramTransportWithoutFlagsIsPlaintext) {
  auto transport = ProgramTransportFromFlags({});
  ASSERT_TRUE(transport.ok()) << transport.status();
  EXPECT_FALSE(transport->tls);
  Start({transport->server, ""});
  v1::Head head;
  const grpc::Status status = GetHead(Local(started_.port), transport->client, &head);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

// --- the plain-text health port ----------------------------------------------------------------

TEST_F(TlsTest, HealthPortServesHealthInPlainTextAndNothingElse) {
  Start({ServerCredentials({pki().server_cert, pki().server_key, pki().ca_cert}), "127.0.0.1:0"});
  ASSERT_NE(started_.health_server, nullptr);
  ASSERT_NE(started_.health_port, 0);
  ASSERT_NE(started_.health_port, started_.port);
  const std::string health = Local(started_.health_port);

  HealthCheckResponse response;
  grpc::Status status = CheckHealth(health, grpc::InsecureChannelCredentials(), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
  // The same answer as the TLS port.
  status = CheckHealth(Local(started_.port),
                       ClientCredentials({pki().client_cert, pki().client_key, pki().ca_cert}),
                       &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
  // Unknown service names: NOT_FOUND on both.
  status = CheckHealth(health, grpc::InsecureChannelCredentials(), &response, "no.such.Service");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);

  // No LedgerService, no reflection on the health port.
  v1::Head head;
  status = GetHead(health, grpc::InsecureChannelCredentials(), &head);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << status.error_message();
  const std::string reflection = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";
  status = CallMethod(health, reflection);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << status.error_message();
  // (The probe can tell: a plain-text server with reflection answers it otherwise.)
  FakeLedger other_service;
  StartedServer plain;
  {
    auto started = StartServer("127.0.0.1:0", {&other_service}, {});
    ASSERT_TRUE(started.ok()) << started.status();
    plain = *std::move(started);
  }
  status = CallMethod(Local(plain.port), reflection);
  EXPECT_NE(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << status.error_message();
  plain.Shutdown(std::chrono::system_clock::now());
}

TEST_F(TlsTest, HealthPortWorksWithoutTls) {
  Start({nullptr, "127.0.0.1:0"});
  HealthCheckResponse response;
  const grpc::Status status =
      CheckHealth(Local(started_.health_port), grpc::InsecureChannelCredentials(), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
}

TEST_F(TlsTest, HealthPortMirrorsServingStatus) {
  Start({ServerCredentials({pki().server_cert, pki().server_key, pki().ca_cert}), "127.0.0.1:0"});
  const std::string health = Local(started_.health_port);
  HealthCheckResponse response;
  const auto client = ClientCredentials({pki().client_cert, pki().client_key, pki().ca_cert});
  for (const bool serving : {false, true, false}) {
    started_.SetServing(serving);
    const auto want = serving ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING;
    ASSERT_TRUE(CheckHealth(health, grpc::InsecureChannelCredentials(), &response).ok());
    EXPECT_EQ(response.status(), want) << "health port, serving " << serving;
    ASSERT_TRUE(CheckHealth(Local(started_.port), client, &response).ok());
    EXPECT_EQ(response.status(), want) << "main port, serving " << serving;
  }
}

TEST_F(TlsTest, HealthPortSaysNotServingWhileTheServerDrains) {
  Start({ServerCredentials({pki().server_cert, pki().server_key, pki().ca_cert}), "127.0.0.1:0"});
  const std::string health = Local(started_.health_port);
  // A call in flight keeps the main server draining.
  auto stub = v1::LedgerService::NewStub(
      grpc::CreateChannel(Local(started_.port),
                          ClientCredentials({pki().client_cert, pki().client_key, pki().ca_cert})));
  grpc::ClientContext echo_context;
  v1::EchoRequest echo_request;
  v1::EchoResponse echo_response;
  std::promise<grpc::Status> echo_done;
  stub->async()->Echo(&echo_context, &echo_request, &echo_response,
                      [&echo_done](grpc::Status status) { echo_done.set_value(status); });
  ASSERT_TRUE(service_.WaitHeld(std::chrono::seconds(10)));

  std::thread shutdown(
      [this] { started_.Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(30)); });
  // Bounded polling: NOT_SERVING must show up while the Echo call still holds the server.
  bool not_serving = false;
  for (int i = 0; i < 100 && !not_serving; ++i) {
    HealthCheckResponse response;
    const grpc::Status status = CheckHealth(health, grpc::InsecureChannelCredentials(), &response);
    ASSERT_TRUE(status.ok()) << status.error_message();  // the health port still answers
    not_serving = response.status() == HealthCheckResponse::NOT_SERVING;
    if (!not_serving) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(not_serving);
  service_.Release();
  shutdown.join();
  EXPECT_TRUE(echo_done.get_future().get().ok());
  // Then the health port is gone too.
  HealthCheckResponse response;
  EXPECT_EQ(CheckHealth(health, grpc::InsecureChannelCredentials(), &response).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

// --- errors ------------------------------------------------------------------------------------

class TlsFilesTest : public TlsTest {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_->Sub(name);
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    return path;
  }
  static std::string Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
};

TEST_F(TlsFilesTest, LoadsGoodMaterial) {
  auto material = LoadTlsMaterial({pki().server_cert, pki().server_key, pki().ca_cert});
  ASSERT_TRUE(material.ok()) << material.status();
  EXPECT_EQ(material->cert_chain, Read(pki().server_cert));
  EXPECT_EQ(material->private_key, Read(pki().server_key));
  EXPECT_EQ(material->ca_certs, Read(pki().ca_cert));
}

TEST_F(TlsFilesTest, MissingFileIsNotFoundAndNamed) {
  const std::string missing = dir_->Sub("no-such.crt");
  auto status = LoadTlsMaterial({missing, pki().server_key, ""}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("TLS certificate " + missing));
  EXPECT_THAT(status.message(), HasSubstr("No such file"));
  status = LoadTlsMaterial({pki().server_cert, missing, ""}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("TLS private key " + missing));
  status = ClientTlsCredentials({"", "", missing}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("TLS CA certificates " + missing));
}

TEST_F(TlsFilesTest, UnreadableFileIsPermissionDenied) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads every file";
  const std::string path = Write("unreadable.key", Read(pki().server_key));
  ASSERT_EQ(::chmod(path.c_str(), 0), 0);
  const auto status = LoadTlsMaterial({pki().server_cert, path, ""}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(status.message(), HasSubstr(path));
}

TEST_F(TlsFilesTest, GarbledCertificateIsNamed) {
  const std::string path = Write("garbled.crt",
                                 "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n"
                                 "-----END CERTIFICATE-----\n");
  const auto status = LoadTlsMaterial({path, pki().server_key, ""}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              HasSubstr("TLS certificate " + path + ": certificate 1 of 1 is not a valid PEM"));
}

TEST_F(TlsFilesTest, SecondCertificateOfAChainGarbled) {
  std::string chain = Read(pki().server_cert);
  chain += "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  const std::string path = Write("chain.crt", chain);
  const auto status = LoadTlsMaterial({path, pki().server_key, ""}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("certificate 2 of 2"));
}

TEST_F(TlsFilesTest, FileWithoutPemIsNamed) {
  const std::string path = Write("not-pem.crt", "hello\n");
  auto status = LoadTlsMaterial({path, pki().server_key, ""}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr(path + " holds no PEM certificate"));
  // A key where the CA should be.
  status = LoadTlsMaterial({"", "", pki().ca_key}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("TLS CA certificates " + pki().ca_key));
  // A certificate where the key should be.
  status = LoadTlsMaterial({pki().server_cert, pki().server_cert, ""}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr(pki().server_cert + " holds no PEM private key"));
}

TEST_F(TlsFilesTest, GarbledCaIsNamed) {
  const std::string path = Write("garbled-ca.crt",
                                 "-----BEGIN CERTIFICATE-----\n!!!!\n"
                                 "-----END CERTIFICATE-----\n");
  const auto status = ClientTlsCredentials({"", "", path}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("TLS CA certificates " + path));
}

TEST_F(TlsFilesTest, GarbledKeyIsNamed) {
  const std::string path = Write("garbled.key",
                                 "-----BEGIN PRIVATE KEY-----\nAAAA\n"
                                 "-----END PRIVATE KEY-----\n");
  const auto status = LoadTlsMaterial({pki().server_cert, path, ""}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("TLS private key " + path + " is not a valid PEM"));
}

TEST_F(TlsFilesTest, EncryptedKeyIsRefusedWithoutPrompting) {
  std::string error;
  ASSERT_TRUE(
      testing::pki_internal::RunOpenssl(dir_->path(),
                                        {"pkey", "-in", pki().server_key, "-aes256", "-passout",
                                         "pass:secret", "-out", dir_->Sub("encrypted.key")},
                                        &error))
      << error;
  const auto status = LoadTlsMaterial({pki().server_cert, dir_->Sub("encrypted.key"), ""}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("is encrypted"));
}

TEST_F(TlsFilesTest, KeyOfAnotherCertificateIsRefused) {
  const auto status = LoadTlsMaterial({pki().server_cert, pki().client_key, ""}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              HasSubstr("TLS private key " + pki().client_key +
                        " does not belong to the first certificate of " + pki().server_cert));
}

TEST_F(TlsFilesTest, EmptyDirectoryAndHugeFilesAreRefused) {
  auto status = LoadTlsMaterial({"", "", Write("empty.crt", "")}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("is empty"));
  status = LoadTlsMaterial({"", "", dir_->path()}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("is not a regular file"));
  status =
      LoadTlsMaterial({"", "", Write("huge.crt", std::string(kMaxPemFileBytes + 1, 'A'))}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("more than"));
}

TEST_F(TlsFilesTest, CertificateAndKeyGoTogether) {
  auto status = LoadTlsMaterial({pki().server_cert, "", ""}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  status = ClientTlsCredentials({"", pki().client_key, pki().ca_cert}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  status = ServerTlsCredentials({"", "", pki().ca_cert}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("needs a certificate and its private key"));
}

TEST_F(TlsFilesTest, ProgramFlagCombinations) {
  auto status = ProgramTransportFromFlags({pki().server_cert, "", pki().ca_cert}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("--tls_cert is set but --tls_key is not"));
  status = ProgramTransportFromFlags({"", pki().server_key, ""}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("--tls_key is set but --tls_cert is not"));
  status = ProgramTransportFromFlags({"", "", pki().ca_cert}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("--tls_ca is set without --tls_cert and --tls_key"));
  // File errors come through.
  status = ProgramTransportFromFlags({pki().server_cert, dir_->Sub("gone.key"), ""}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  // Without a CA: TLS, no client certificates.
  auto transport = ProgramTransportFromFlags({pki().server_cert, pki().server_key, ""});
  ASSERT_TRUE(transport.ok()) << transport.status();
  EXPECT_TRUE(transport->tls);
  EXPECT_THAT(transport->description, HasSubstr("client certificates not requested"));
}

TEST_F(TlsFilesTest, HealthPortThatCannotBindIsAnError) {
  const auto status = StartServer("127.0.0.1:0", {&service_}, {}, {nullptr, "256.0.0.1:1"});
  EXPECT_EQ(status.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.status().message(), HasSubstr("256.0.0.1:1 (health port)"));
}

}  // namespace
}  // namespace lodestone::rpc
