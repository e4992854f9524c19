// An HTTP/1.1 server for the programs' JSON interfaces (EPCIS, the console API): routing by
// method and path pattern, TLS with the same caller identity as gRPC (services/rpc/identity.h),
// limits on everything, and Prometheus metrics per route. Built on cpp-httplib (docs/http.md);
// no httplib type appears in this header.
#ifndef LODESTONE_SERVICES_HTTP_HTTP_SERVER_H_
#define LODESTONE_SERVICES_HTTP_HTTP_SERVER_H_

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/rpc/identity.h"
#include "services/rpc/tls.h"

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace lodestone::http {

struct Request {
  std::string method;                                        // "GET", "POST", ...
  std::string path;                                          // without the query
  std::map<std::string, std::string> path_params;            // {name} segments of the pattern
  std::vector<std::pair<std::string, std::string>> query;    // in order, decoded
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;
  rpc::Caller caller;  // authenticated before the handler runs

  // The first value of a header (name in any case) or query parameter; nullopt: absent.
  std::optional<std::string> Header(std::string_view name) const;
  std::optional<std::string> Query(std::string_view name) const;
  // The media type of Content-Type, lower case, without parameters ("" when absent).
  std::string MediaType() const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

using Handler = std::function<Response(const Request&)>;

struct Limits {
  // A larger body (by Content-Length, or as read) is 413 before the handler runs.
  size_t max_body_bytes = size_t{16} << 20;
  // All request header lines together; more: 431. (The library itself limits each header line
  // and the request target to 8 KiB: 400.)
  size_t max_header_bytes = size_t{64} << 10;
  // Connections served at once, each by its own worker thread (a keep-alive connection holds
  // its worker until it closes). More: answered 503 with Retry-After and closed, by one
  // overflow thread.
  size_t max_connections = 64;
  // Connections waiting for that 503; past this the acceptor stops accepting until one is
  // answered, and the kernel's listen backlog holds (then refuses) new connections.
  size_t max_waiting_connections = 256;
  int retry_after_seconds = 1;
  absl::Duration read_timeout = absl::Seconds(10);   // per read of the socket
  absl::Duration write_timeout = absl::Seconds(10);  // per write
  absl::Duration keep_alive_timeout = absl::Seconds(5);
  size_t keep_alive_max_requests = 100;  // then the connection is closed
};

struct ServerOptions {
  std::string address = "127.0.0.1:0";  // host:port; port 0 picks a free one
  // TLS when cert_chain and private_key are set; with ca_certs, every client must present a
  // certificate chaining to them (mutual TLS) and is named by it as gRPC callers are.
  rpc::TlsMaterial tls;
  rpc::IdentityOptions identity;
  Limits limits;
  // Metrics lodestone_http_* are registered here (null: none). Must outlive the server.
  prometheus::Registry* registry = nullptr;
  std::string server_name = "lodestone";  // the Server header
};

// Routes are registered before Start. Handlers run on worker threads, concurrently: they must
// be thread-safe and should not block for long (the worker is the connection's).
class HttpServer {
 public:
  static absl::StatusOr<std::unique_ptr<HttpServer>> Create(ServerOptions options);
  ~HttpServer();  // stops

  // `pattern` is a path of literal segments and {name} segments ("/capture/{id}"); a {name}
  // matches one non-empty segment. The pattern is the route's metrics label.
  void Route(std::string method, std::string pattern, Handler handler);

  // Binds and serves on a background thread. UNAVAILABLE if the address cannot be bound.
  absl::Status Start();
  // Stops accepting, finishes requests in progress. Idempotent.
  void Stop();

  int port() const { return port_; }
  bool tls() const { return tls_; }

 private:
  class Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
  bool tls_ = false;
};

// Percent-encodes every byte but the unreserved ones (RFC 3986), for a query value or a path
// segment.
std::string UrlEncode(std::string_view text);

// The caller of a connection: `peer_certificate_pem` is the verified client certificate (empty:
// none) on a TLS connection, `remote_address` the peer's IP address. As rpc::CallerFromContext.
absl::StatusOr<rpc::Caller> CallerFromConnection(bool tls, std::string_view peer_certificate_pem,
                                                 std::string_view remote_address,
                                                 const rpc::IdentityOptions& options);

}  // namespace lodestone::http

#endif  // LODESTONE_SERVICES_HTTP_HTTP_SERVER_H_
