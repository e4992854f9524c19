#include "services/http/http_server.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "httplib.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "services/http/problem.h"

namespace lodestone::http {
namespace {

// What the worker serving the current request knows about it (httplib runs the pre-routing
// handler, the handler and the logger of one request on one thread, in that order).
struct RequestContext {
  bool overflow = false;  // this connection is served by the overflow thread: answer 503
  std::chrono::steady_clock::time_point start;
  std::string route;  // the matched pattern, for the metrics label
};
thread_local RequestContext tls_context;

// Worker threads for connections (each connection holds one until it closes), and one overflow
// thread that answers the connections beyond them with 503. httplib's own pool queues without
// bound; this one never does.
class BoundedPool final : public httplib::TaskQueue {
 public:
  BoundedPool(size_t workers, size_t max_waiting, prometheus::Gauge* active,
              prometheus::Counter* rejected)
      : workers_(workers), max_waiting_(max_waiting), active_gauge_(active), rejected_(rejected) {
    for (size_t i = 0; i < workers; ++i) threads_.emplace_back([this] { Work(false); });
    threads_.emplace_back([this] { Work(true); });
  }
  ~BoundedPool() override = default;

  void enqueue(std::function<void()> fn) override {
    std::unique_lock<std::mutex> lock(mu_);
    if (active_ + jobs_.size() < workers_) {
      jobs_.push_back(std::move(fn));
      work_cv_.notify_one();
      return;
    }
    // All workers are busy: the connection is answered 503 by the overflow thread. When even
    // that queue is full, the acceptor (this thread) waits: new connections wait in the
    // kernel's backlog.
    space_cv_.wait(lock, [&] { return shutdown_ || overflow_.size() < max_waiting_; });
    overflow_.push_back(std::move(fn));
    if (rejected_ != nullptr) rejected_->Increment();
    overflow_cv_.notify_one();
  }

  void shutdown() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      shutdown_ = true;
    }
    work_cv_.notify_all();
    overflow_cv_.notify_all();
    space_cv_.notify_all();
    for (auto& thread : threads_) thread.join();
  }

 private:
  void Work(bool overflow) {
    std::unique_lock<std::mutex> lock(mu_);
    std::deque<std::function<void()>>& queue = overflow ? overflow_ : jobs_;
    std::condition_variable& cv = overflow ? overflow_cv_ : work_cv_;
    for (;;) {
      cv.wait(lock, [&] { return shutdown_ || !queue.empty(); });
      if (queue.empty()) return;  // shut down and drained
      std::function<void()> fn = std::move(queue.front());
      queue.pop_front();
      if (overflow) {
        space_cv_.notify_one();
      } else {
        ++active_;
        if (active_gauge_ != nullptr) active_gauge_->Set(static_cast<double>(active_));
      }
      lock.unlock();
      tls_context.overflow = overflow;
      fn();  // serves the connection until it closes
      lock.lock();
      if (!overflow) {
        --active_;
        if (active_gauge_ != nullptr) active_gauge_->Set(static_cast<double>(active_));
      }
    }
  }

  const size_t workers_;
  const size_t max_waiting_;
  prometheus::Gauge* const active_gauge_;
  prometheus::Counter* const rejected_;
  std::mutex mu_;
  std::condition_variable work_cv_, overflow_cv_, space_cv_;
  std::deque<std::function<void()>> jobs_, overflow_;
  size_t active_ = 0;
  bool shutdown_ = false;
  std::vector<std::thread> threads_;
};

struct RouteEntry {
  std::string method;
  std::string pattern;
  std::vector<std::string> segments;  // "{name}" for a parameter
  Handler handler;
};

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> segments;
  for (absl::string_view part : absl::StrSplit(absl::string_view(path.data(), path.size()), '/')) {
    if (!part.empty()) segments.emplace_back(part);
  }
  return segments;
}

// The path segments of a request, each percent-decoded on its own (so that a {name} segment may
// hold an encoded '/', as an EPCIS eventID does), from the raw target when the library kept it.
std::vector<std::string> RequestSegments(const httplib::Request& req) {
  if (req.target.empty()) return SplitPath(req.path);
  std::vector<std::string> segments = SplitPath(req.target.substr(0, req.target.find('?')));
  for (std::string& segment : segments) segment = httplib::detail::decode_url(segment, false);
  return segments;
}

bool Matches(const RouteEntry& route, const std::vector<std::string>& segments,
             std::map<std::string, std::string>* params) {
  if (route.segments.size() != segments.size()) return false;
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::string& want = route.segments[i];
    if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
      (*params)[want.substr(1, want.size() - 2)] = segments[i];
    } else if (want != segments[i]) {
      return false;
    }
  }
  return true;
}

void Apply(const Response& from, httplib::Response& to) {
  to.status = from.status;
  for (const auto& [name, value] : from.headers) to.set_header(name, value);
  to.set_content(from.body, from.content_type);
}

// For the answers httplib makes itself (malformed request lines, bodies too large as read, ...).
std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 431:
      return "Request Header Fields Too Large";
    case 503:
      return "Service Unavailable";
    default:
      return status < 500 ? "Client Error" : "Server Error";
  }
}

std::string PeerCertificatePem(const SSL* ssl) {
  if (ssl == nullptr) return "";
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return "";
  std::string pem;
  if (BIO* bio = BIO_new(BIO_s_mem())) {
    if (PEM_write_bio_X509(bio, cert) == 1) {
      char* data = nullptr;
      const long length = BIO_get_mem_data(bio, &data);
      if (length > 0) pem.assign(data, static_cast<size_t>(length));
    }
    BIO_free(bio);
  }
  X509_free(cert);
  return pem;
}

// Loads PEM material into the server's SSL_CTX: TLS 1.2+, the chain and key, and with CA
// certificates a required, verified client certificate.
bool SetUpTls(SSL_CTX& ctx, const rpc::TlsMaterial& tls) {
  SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  BIO* chain = BIO_new_mem_buf(tls.cert_chain.data(), static_cast<int>(tls.cert_chain.size()));
  bool ok = chain != nullptr;
  bool first = true;
  while (ok) {
    X509* cert = PEM_read_bio_X509(chain, nullptr, nullptr, nullptr);
    if (cert == nullptr) break;
    if (first) {
      ok = SSL_CTX_use_certificate(&ctx, cert) == 1;
      X509_free(cert);
      first = false;
    } else if (SSL_CTX_add_extra_chain_cert(&ctx, cert) != 1) {  // takes ownership on success
      X509_free(cert);
      ok = false;
    }
  }
  ERR_clear_error();  // the end of the PEM data
  if (chain != nullptr) BIO_free(chain);
  ok = ok && !first;
  BIO* key_bio = BIO_new_mem_buf(tls.private_key.data(), static_cast<int>(tls.private_key.size()));
  EVP_PKEY* key = key_bio ? PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr) : nullptr;
  if (key_bio != nullptr) BIO_free(key_bio);
  ok = ok && key != nullptr && SSL_CTX_use_PrivateKey(&ctx, key) == 1 &&
       SSL_CTX_check_private_key(&ctx) == 1;
  if (key != nullptr) EVP_PKEY_free(key);
  if (ok && !tls.ca_certs.empty()) {
    X509_STORE* store = SSL_CTX_get_cert_store(&ctx);
    BIO* ca = BIO_new_mem_buf(tls.ca_certs.data(), static_cast<int>(tls.ca_certs.size()));
    size_t count = 0;
    while (ca != nullptr) {
      X509* cert = PEM_read_bio_X509(ca, nullptr, nullptr, nullptr);
      if (cert == nullptr) break;
      if (X509_STORE_add_cert(store, cert) == 1) ++count;
      X509_free(cert);
    }
    ERR_clear_error();
    if (ca != nullptr) BIO_free(ca);
    ok = count > 0;
    SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return ok;
}

}  // namespace

std::optional<std::string> Request::Header(std::string_view name) const {
  const std::string lower = absl::AsciiStrToLower(std::string(name));
  for (const auto& [key, value] : headers) {
    if (key == lower) return value;
  }
  return std::nullopt;
}

std::optional<std::string> Request::Query(std::string_view name) const {
  for (const auto& [key, value] : query) {
    if (key == name) return value;
  }
  return std::nullopt;
}

std::string Request::MediaType() const {
  std::string type = Header("content-type").value_or("");
  if (const size_t semicolon = type.find(';'); semicolon != std::string::npos) {
    type.resize(semicolon);
  }
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(type));
}

std::string UrlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

absl::StatusOr<rpc::Caller> CallerFromConnection(bool tls, std::string_view peer_certificate_pem,
                                                 std::string_view remote_address,
                                                 const rpc::IdentityOptions& options) {
  if (tls) {
    if (peer_certificate_pem.empty()) {
      return absl::UnauthenticatedError("no client certificate");
    }
    return rpc::CallerFromCertificatePem(peer_certificate_pem);
  }
  if (!options.allow_local_admin) {
    return absl::UnauthenticatedError("plain-text callers are not authenticated");
  }
  const std::string peer = remote_address.find(':') != std::string_view::npos
                               ? absl::StrCat("ipv6:[", std::string(remote_address), "]:0")
                               : absl::StrCat("ipv4:", std::string(remote_address), ":0");
  if (!options.plaintext_admin_from_any_address && !rpc::IsLoopbackPeer(peer)) {
    return absl::UnauthenticatedError(
        absl::StrCat("a plain-text caller from ", std::string(remote_address),
                     " is not on loopback: only local callers are the administrator without TLS"));
  }
  return rpc::Caller{rpc::Caller::Kind::kLocalAdmin, ""};
}

class HttpServer::Impl {
 public:
  explicit Impl(ServerOptions options) : options_(std::move(options)) {
    if (options_.registry != nullptr) {
      auto& registry = *options_.registry;
      requests_ = &prometheus::BuildCounter()
                       .Name("lodestone_http_requests_total")
                       .Help("HTTP requests answered, by route pattern, method and status code")
                       .Register(registry);
      latency_ = &prometheus::BuildHistogram()
                      .Name("lodestone_http_request_duration_seconds")
                      .Help("Time from the request's headers to its answer, by route and method")
                      .Register(registry);
      connections_ = &prometheus::BuildGauge()
                          .Name("lodestone_http_active_connections")
                          .Help("Connections being served by a worker")
                          .Register(registry)
                          .Add({});
      rejected_ = &prometheus::BuildCounter()
                       .Name("lodestone_http_rejected_connections_total")
                       .Help("Connections answered 503 because every worker was busy")
                       .Register(registry)
                       .Add({});
    }
  }

  ~Impl() { Stop(); }

  absl::Status Init() {
    tls_ = !options_.tls.cert_chain.empty() || !options_.tls.private_key.empty();
    if (tls_) {
      bool setup_ok = false;
      const rpc::TlsMaterial& material = options_.tls;
      server_ = std::make_unique<httplib::SSLServer>([&](SSL_CTX& ctx) {
        setup_ok = SetUpTls(ctx, material);
        return setup_ok;
      });
      if (!setup_ok || !server_->is_valid()) {
        return absl::InvalidArgumentError(
            "the HTTP server's TLS certificate, key or CA could not be loaded");
      }
    } else {
      server_ = std::make_unique<httplib::Server>();
    }
    const Limits& limits = options_.limits;
    server_->new_task_queue = [this] {
      return new BoundedPool(std::max<size_t>(options_.limits.max_connections, 1),
                             std::max<size_t>(options_.limits.max_waiting_connections, 1),
                             connections_, rejected_);
    };
    server_->set_payload_max_length(limits.max_body_bytes);
    server_->set_read_timeout(
        std::chrono::microseconds(absl::ToInt64Microseconds(limits.read_timeout)));
    server_->set_write_timeout(
        std::chrono::microseconds(absl::ToInt64Microseconds(limits.write_timeout)));
    server_->set_keep_alive_timeout(
        std::max<time_t>(1, absl::ToInt64Seconds(limits.keep_alive_timeout)));
    server_->set_keep_alive_max_count(std::max<size_t>(limits.keep_alive_max_requests, 1));
    server_->set_default_headers({{"Server", options_.server_name}});
    // "Expect: 100-continue" is answered from the headers: 413 (and no 100) for a body over
    // the limit, so that a client that asks first never sends it.
    server_->set_expect_100_continue_handler(
        [this](const httplib::Request& req, httplib::Response& res) {
          if (PreRoute(req, res) == httplib::Server::HandlerResponse::Handled) return res.status;
          return 100;
        });
    server_->set_pre_routing_handler(
        [this](const httplib::Request& req, httplib::Response& res) { return PreRoute(req, res); });
    const auto dispatch = [this](const httplib::Request& req, httplib::Response& res) {
      Dispatch(req, res);
    };
    server_->Get(".*", dispatch);
    server_->Post(".*", dispatch);
    server_->Put(".*", dispatch);
    server_->Patch(".*", dispatch);
    server_->Delete(".*", dispatch);
    server_->set_error_handler([](const httplib::Request&, httplib::Response& res) {
      if (!res.body.empty()) return;  // a handler's own answer
      Apply(ProblemResponse(res.status, ReasonPhrase(res.status), ""), res);
    });
    server_->set_exception_handler(
        [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
          Apply(ProblemResponse(500, "Internal Server Error", "the handler failed"), res);
        });
    server_->set_logger(
        [this](const httplib::Request& req, const httplib::Response& res) { Observe(req, res); });
    return absl::OkStatus();
  }

  void AddRoute(std::string method, std::string pattern, Handler handler) {
    RouteEntry route{std::move(method), pattern, SplitPath(pattern), std::move(handler)};
    routes_.push_back(std::move(route));
  }

  absl::StatusOr<int> Start() {
    const std::string& address = options_.address;
    const size_t colon = address.rfind(':');
    int port = -1;
    if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port) ||
        port < 0 || port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("HTTP address '", address, "' is not host:port"));
    }
    std::string host = address.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    if (port == 0) {
      port = server_->bind_to_any_port(host);
    } else if (!server_->bind_to_port(host, port)) {
      port = -1;
    }
    if (port <= 0) {
      return absl::UnavailableError(absl::StrCat("cannot bind HTTP address '", address, "'"));
    }
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    // stop() before the listener runs would be lost: wait (bounded) until it does.
    for (int i = 0; i < 5000 && !server_->is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return port;
  }

  void Stop() {
    if (server_ != nullptr) server_->stop();
    if (thread_.joinable()) thread_.join();
  }

  bool tls() const { return tls_; }

 private:
  httplib::Server::HandlerResponse PreRoute(const httplib::Request& req, httplib::Response& res) {
    tls_context.start = std::chrono::steady_clock::now();
    tls_context.route = "";
    const Limits& limits = options_.limits;
    if (tls_context.overflow) {
      Response busy =
          ProblemResponse(503, "Service Unavailable", "every connection slot is busy; retry later");
      busy.headers.emplace_back("Retry-After", std::to_string(limits.retry_after_seconds));
      busy.headers.emplace_back("Connection", "close");
      Apply(busy, res);
      return httplib::Server::HandlerResponse::Handled;
    }
    size_t header_bytes = 0;
    for (const auto& [name, value] : req.headers) header_bytes += name.size() + value.size() + 4;
    if (header_bytes > limits.max_header_bytes) {
      Response big = ProblemResponse(431, "Request Header Fields Too Large",
                                     absl::StrCat("the request's headers hold ", header_bytes,
                                                  " bytes; at most ", limits.max_header_bytes));
      big.headers.emplace_back("Connection", "close");
      Apply(big, res);
      return httplib::Server::HandlerResponse::Handled;
    }
    // The library reads a chunked body whole, past any limit: a body must declare its length.
    if (req.has_header("Transfer-Encoding")) {
      Apply(ProblemResponse(
                411, "Length Required",
                absl::StrCat("Transfer-Encoding '", req.get_header_value("Transfer-Encoding"),
                             "': send the body with a Content-Length (at most ",
                             limits.max_body_bytes, " bytes)")),
            res);
      res.set_header("Connection", "close");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.has_header("Content-Length")) {
      uint64_t length = 0;
      if (!absl::SimpleAtoi(req.get_header_value("Content-Length"), &length)) {
        Apply(ProblemResponse(400, "Bad Request", "Content-Length is not a number"), res);
        res.set_header("Connection", "close");
        return httplib::Server::HandlerResponse::Handled;
      }
      if (length > limits.max_body_bytes) {
        Apply(ProblemResponse(
                  413, "Content Too Large",
                  absl::StrCat("the body has ", length, " bytes; at most ", limits.max_body_bytes)),
              res);
        res.set_header("Connection", "close");
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    return httplib::Server::HandlerResponse::Unhandled;
  }

  void Dispatch(const httplib::Request& req, httplib::Response& res) {
    const std::vector<std::string> segments = RequestSegments(req);
    Request request;
    const RouteEntry* found = nullptr;
    bool path_known = false;
    for (const RouteEntry& route : routes_) {
      std::map<std::string, std::string> params;
      if (!Matches(route, segments, &params)) continue;
      path_known = true;
      if (route.method == req.method) {
        found = &route;
        request.path_params = std::move(params);
        break;
      }
    }
    if (found == nullptr) {
      tls_context.route = path_known ? "(method not allowed)" : "(not found)";
      if (path_known) {
        std::string allow;
        for (const RouteEntry& route : routes_) {
          std::map<std::string, std::string> params;
          if (Matches(route, segments, &params)) {
            absl::StrAppend(&allow, allow.empty() ? "" : ", ", route.method);
          }
        }
        Response response = ProblemResponse(
            405, "Method Not Allowed", absl::StrCat(req.method, " is not allowed on ", req.path));
        response.headers.emplace_back("Allow", allow);
        Apply(response, res);
      } else {
        Apply(ProblemResponse(404, "Not Found", absl::StrCat("no resource ", req.path)), res);
      }
      return;
    }
    tls_context.route = found->pattern;
    auto caller = CallerFromConnection(tls_,
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
                                       tls_ ? PeerCertificatePem(req.ssl) : std::string(),
#else
                                       std::string(),
#endif
                                       req.remote_addr, options_.identity);
    if (!caller.ok()) {
      Apply(ProblemFromStatus(caller.status()), res);
      return;
    }
    request.caller = *std::move(caller);
    request.method = req.method;
    request.path = req.path;
    for (const auto& [name, value] : req.params) request.query.emplace_back(name, value);
    for (const auto& [name, value] : req.headers) {
      request.headers.emplace_back(absl::AsciiStrToLower(name), value);
    }
    request.body = req.body;
    Apply(found->handler(request), res);
  }

  void Observe(const httplib::Request& req, const httplib::Response& res) {
    if (requests_ == nullptr) return;
    const std::string route = tls_context.route.empty()
                                  ? (tls_context.overflow ? "(overloaded)" : "(rejected)")
                                  : tls_context.route;
    // Methods outside the usual set share one label, so that the label set stays bounded.
    static const std::vector<std::string> kMethods = {"GET",    "POST", "PUT",    "PATCH",
                                                      "DELETE", "HEAD", "OPTIONS"};
    const std::string method =
        std::find(kMethods.begin(), kMethods.end(), req.method) != kMethods.end() ? req.method
                                                                                  : "OTHER";
    requests_->Add({{"route", route}, {"method", method}, {"code", std::to_string(res.status)}})
        .Increment();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - tls_context.start).count();
    latency_
        ->Add({{"route", route}, {"method", method}},
              prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10})
        .Observe(seconds);
    tls_context.route.clear();
  }

  const ServerOptions options_;
  bool tls_ = false;
  std::unique_ptr<httplib::Server> server_;
  std::vector<RouteEntry> routes_;
  std::thread thread_;
  prometheus::Family<prometheus::Counter>* requests_ = nullptr;
  prometheus::Family<prometheus::Histogram>* latency_ = nullptr;
  prometheus::Gauge* connections_ = nullptr;
  prometheus::Counter* rejected_ = nullptr;
};

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(ServerOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  if (auto status = impl->Init(); !status.ok()) return status;
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) { tls_ = impl_->tls(); }

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Route(std::string method, std::string pattern, Handler handler) {
  impl_->AddRoute(std::move(method), std::move(pattern), std::move(handler));
}

absl::Status HttpServer::Start() {
  auto port = impl_->Start();
  if (!port.ok()) return port.status();
  port_ = *port;
  return absl::OkStatus();
}

void HttpServer::Stop() { impl_->Stop(); }

}  // namespace lodestone::http
