// The HTTP server module against real servers on port 0: routing, problem+json, caller
// identity (plain-text loopback administrator; mutual TLS party certificates), limits, metrics,
// and the JSON parser's limits.
#include "services/http/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"
#include "services/http/json.h"
#include "services/http/problem.h"
#include "services/rpc/tls.h"
#include "tests/services/rpc/test_certs.h"
#include "tests/support/raw_http.h"
#include "tests/support/temp_dir.h"

namespace lodestone::http {
namespace {

using ::lodestone::testing::RawExchange;

using ::testing::HasSubstr;

std::string CallerText(const rpc::Caller& caller) {
  return absl::StrCat(std::string(rpc::CallerKindName(caller.kind)), ":", caller.id);
}

void AddTestRoutes(HttpServer& server) {
  server.Route("GET", "/things/{id}", [](const Request& request) {
    Response response;
    response.body = DumpJson(Json{{"id", request.path_params.at("id")},
                                  {"caller", CallerText(request.caller)},
                                  {"q", request.Query("q").value_or("")}});
    return response;
  });
  server.Route("POST", "/echo", [](const Request& request) {
    Response response;
    response.content_type = "text/plain";
    response.body = absl::StrCat(request.body.size());
    return response;
  });
}

struct Plain {
  explicit Plain(Limits limits = {}, bool allow_local_admin = true) {
    ServerOptions options;
    options.limits = limits;
    options.identity.allow_local_admin = allow_local_admin;
    options.registry = &registry;
    auto created = HttpServer::Create(options);
    EXPECT_TRUE(created.ok()) << created.status();
    server = *std::move(created);
    AddTestRoutes(*server);
    auto status = server->Start();
    EXPECT_TRUE(status.ok()) << status;
    client = std::make_unique<httplib::Client>("127.0.0.1", server->port());
  }
  prometheus::Registry registry;
  std::unique_ptr<HttpServer> server;
  std::unique_ptr<httplib::Client> client;
};

TEST(HttpServerTest, RoutesByMethodAndPatternWithTheLocalAdministratorOnLoopback) {
  Plain plain;
  auto got = plain.client->Get("/things/lot-7?q=x%20y");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 200);
  const Json body = Json::parse(got->body);
  EXPECT_EQ(body["id"], "lot-7");
  EXPECT_EQ(body["caller"], "local-admin:");
  EXPECT_EQ(body["q"], "x y");
  EXPECT_EQ(got->get_header_value("Server"), "lodestone");
}

TEST(HttpServerTest, UnknownPathIs404AndWrongMethodIs405WithAllowAsProblemJson) {
  Plain plain;
  auto missing = plain.client->Get("/nothing/here");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->get_header_value("Content-Type"), "application/problem+json");
  EXPECT_EQ(Json::parse(missing->body)["status"], 404);
  auto wrong = plain.client->Delete("/echo");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 405);
  EXPECT_EQ(wrong->get_header_value("Allow"), "POST");
}

TEST(HttpServerTest, WithoutTheLocalAdministratorPlainTextCallersAreUnauthenticated) {
  Plain plain({}, /*allow_local_admin=*/false);
  auto got = plain.client->Get("/things/a");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 401);
  EXPECT_EQ(Json::parse(got->body)["code"], "UNAUTHENTICATED");
}

TEST(HttpServerTest, RemoteAddressesAreNotTheAdministratorWithoutTls) {
  rpc::IdentityOptions loopback{.allow_local_admin = true};
  EXPECT_TRUE(CallerFromConnection(false, "", "127.0.0.1", loopback).ok());
  EXPECT_TRUE(CallerFromConnection(false, "", "::1", loopback).ok());
  EXPECT_EQ(CallerFromConnection(false, "", "10.1.2.3", loopback).status().code(),
            absl::StatusCode::kUnauthenticated);
  rpc::IdentityOptions any{.allow_local_admin = true, .plaintext_admin_from_any_address = true};
  EXPECT_TRUE(CallerFromConnection(false, "", "10.1.2.3", any).ok());
  EXPECT_EQ(CallerFromConnection(true, "", "127.0.0.1", any).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(HttpServerTest, ABodyOverTheLimitIs413BeforeTheBodyIsRead) {
  Limits limits;
  limits.max_body_bytes = 1 << 20;
  Plain plain(limits);
  auto small = plain.client->Post("/echo", std::string(1000, 'a'), "text/plain");
  ASSERT_TRUE(small);
  EXPECT_EQ(small->status, 200);
  EXPECT_EQ(small->body, "1000");
  // A declared 100 MB body is answered from the headers alone: the client never sends it.
  const std::string big =
      RawExchange(plain.server->port(),
                  "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                  "Content-Length: 104857600\r\n\r\n");
  EXPECT_THAT(big, HasSubstr("HTTP/1.1 413"));
  EXPECT_THAT(big, HasSubstr("at most 1048576"));
  EXPECT_THAT(big, HasSubstr("application/problem+json"));
  // A client that asks first (Expect: 100-continue, as curl does for large bodies) gets the 413
  // instead of the 100.
  const std::string asked =
      RawExchange(plain.server->port(),
                  "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                  "Expect: 100-continue\r\nContent-Length: 104857600\r\n\r\n");
  EXPECT_THAT(asked, HasSubstr("HTTP/1.1 413"));
  EXPECT_THAT(asked, ::testing::Not(HasSubstr("100 Continue")));
}

TEST(HttpServerTest, HeadersOverTheLimitAre431) {
  Limits limits;
  limits.max_header_bytes = 2048;
  Plain plain(limits);
  httplib::Headers headers;
  for (int i = 0; i < 10; ++i) headers.emplace(absl::StrCat("X-Big-", i), std::string(300, 'h'));
  auto got = plain.client->Get("/things/a", headers);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 431);
}

TEST(HttpServerTest, ConnectionsBeyondTheWorkersAre503WithRetryAfter) {
  Limits limits;
  limits.max_connections = 1;
  limits.read_timeout = absl::Seconds(5);
  limits.retry_after_seconds = 2;
  Plain plain(limits);
  // A connection that sends nothing holds the only worker (until the read timeout).
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(plain.server->port()));
  ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  // Wait (bounded) until the worker has taken it: the gauge says so.
  for (int i = 0; i < 2000; ++i) {
    const std::string text = prometheus::TextSerializer().Serialize(plain.registry.Collect());
    if (text.find("lodestone_http_active_connections 1") != std::string::npos) break;
    ::usleep(1000);
  }
  auto busy = plain.client->Get("/things/a");
  ASSERT_TRUE(busy);
  EXPECT_EQ(busy->status, 503);
  EXPECT_EQ(busy->get_header_value("Retry-After"), "2");
  ::close(fd);
  const std::string text = prometheus::TextSerializer().Serialize(plain.registry.Collect());
  EXPECT_THAT(text, HasSubstr("lodestone_http_rejected_connections_total 1"));
}

TEST(HttpServerTest, MetricsCountRequestsByRoutePatternMethodAndCode) {
  Plain plain;
  ASSERT_TRUE(plain.client->Get("/things/a"));
  ASSERT_TRUE(plain.client->Get("/things/b"));
  ASSERT_TRUE(plain.client->Get("/nope"));
  // A request is counted just after its response is written, possibly by another worker than
  // the next request's: wait (bounded) until all three are counted.
  std::string text;
  for (int i = 0; i < 5000; ++i) {
    text = prometheus::TextSerializer().Serialize(plain.registry.Collect());
    if (text.find("route=\"(not found)\"") != std::string::npos &&
        text.find("route=\"/things/{id}\"} 2") != std::string::npos &&
        text.find("lodestone_http_request_duration_seconds_count{method=\"GET\",route=\"/things/"
                  "{id}\"} 2") != std::string::npos) {
      break;
    }
    ::usleep(1000);
  }
  EXPECT_THAT(text,
              HasSubstr("lodestone_http_requests_total{code=\"200\",method=\"GET\",route=\"/things/"
                        "{id}\"} 2"));
  EXPECT_THAT(text, HasSubstr("route=\"(not found)\""));
  EXPECT_THAT(text, HasSubstr("lodestone_http_request_duration_seconds_count{method=\"GET\","
                              "route=\"/things/{id}\"} 2"));
}

// Mutual TLS: the caller is named by its certificate's URI SAN, as for gRPC.
class HttpTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(testing::MakeTestPki(dir_.path(), &pki_, &error)) << error;
    ASSERT_TRUE(testing::pki_internal::MakeLeaf(
        dir_.path(), "party", "party", "ca",
        "extendedKeyUsage = clientAuth\nsubjectAltName = URI:urn:lodestone:party:acme\n", 4001,
        &error))
        << error;
    auto material = rpc::LoadTlsMaterial({pki_.server_cert, pki_.server_key, pki_.ca_cert});
    ASSERT_TRUE(material.ok()) << material.status();
    ServerOptions options;
    options.tls = *material;
    auto created = HttpServer::Create(options);
    ASSERT_TRUE(created.ok()) << created.status();
    server_ = *std::move(created);
    AddTestRoutes(*server_);
    ASSERT_TRUE(server_->Start().ok());
    ASSERT_TRUE(server_->tls());
  }

  httplib::Result GetWith(const std::string& cert, const std::string& key) {
    httplib::SSLClient client("127.0.0.1", server_->port(), cert, key);
    client.set_ca_cert_path(pki_.ca_cert.c_str());
    client.enable_server_certificate_verification(true);
    return client.Get("/things/x");
  }

  testing::TempDir dir_;
  testing::TestPki pki_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpTlsTest, APartyCertificateNamesTheCaller) {
  auto got = GetWith(dir_.Sub("party.crt"), dir_.Sub("party.key"));
  ASSERT_TRUE(got) << httplib::to_string(got.error());
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(Json::parse(got->body)["caller"], "party:acme");
}

TEST_F(HttpTlsTest, ACertificateWithoutAnIdentityIsUnauthenticated) {
  auto got = GetWith(pki_.client_cert, pki_.client_key);
  ASSERT_TRUE(got) << httplib::to_string(got.error());
  EXPECT_EQ(got->status, 401);
}

TEST_F(HttpTlsTest, NoCertificateOrOneFromAnotherCaFailsTheHandshake) {
  httplib::SSLClient anonymous("127.0.0.1", server_->port());
  anonymous.enable_server_certificate_verification(false);
  EXPECT_FALSE(anonymous.Get("/things/x"));
  EXPECT_FALSE(GetWith(pki_.other_client_cert, pki_.other_client_key));
}

TEST(JsonTest, KeepsTheTextOfNonIntegerNumbersAndRefusesDuplicateKeys) {
  auto parsed = ParseJson(R"({"a": [1, {"q": 0.1000000000000000000000000001}], "b~/": 2.5E3})");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->NumberText("/a/1/q"), "0.1000000000000000000000000001");
  EXPECT_EQ(parsed->NumberText("/b~0~1"), "2.5E3");
  EXPECT_EQ(parsed->NumberText("/a/0"), "1");
  EXPECT_EQ(ParseJson(R"({"a": 1, "a": 2})").status().code(), absl::StatusCode::kInvalidArgument);
  auto bad = ParseJson(R"({"a": [1, 2})");
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("malformed JSON at byte"));
}

TEST(JsonTest, DeepNestingIsRefusedWithoutRecursion) {
  const std::string deep = std::string(10000, '[') + std::string(10000, ']');
  auto parsed = ParseJson(deep);
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("deeper than 64"));
  EXPECT_TRUE(ParseJson(std::string(64, '[') + std::string(64, ']')).ok());
}

TEST(ProblemTest, StatusCodesMapOnce) {
  EXPECT_EQ(HttpStatusFromStatus(absl::InvalidArgumentError("x")), 400);
  EXPECT_EQ(HttpStatusFromStatus(absl::AlreadyExistsError("x")), 409);
  EXPECT_EQ(HttpStatusFromStatus(absl::PermissionDeniedError("x")), 403);
  EXPECT_EQ(HttpStatusFromStatus(absl::UnavailableError("x")), 503);
  const Response problem = ProblemFromStatus(absl::UnavailableError("later"));
  EXPECT_EQ(problem.content_type, "application/problem+json");
  EXPECT_EQ(Json::parse(problem.body)["detail"], "later");
}

}  // namespace
}  // namespace lodestone::http
