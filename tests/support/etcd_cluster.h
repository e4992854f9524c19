// A real etcd cluster for tests: N members of /usr/bin/etcd (Debian package etcd-server) on free
// loopback ports, data in a temporary directory, short election timeouts. Members can be killed
// (SIGKILL), paused (SIGSTOP), resumed and restarted; all are killed on destruction.
// Needs lodestone_etcd_proto (the health check is a linearizable Range over gRPC).
//
// The data goes to a fresh directory under /dev/shm when it exists: on tmpfs etcd's fsyncs cost
// nothing, while on a disk busy with other builds creating a member's WAL alone can take seconds
// (each member preallocates a 64 MB WAL segment: about 200 MB of memory per cluster). Data on
// tmpfs survives SIGKILL like data on disk; only a machine crash would lose it.
#ifndef LODESTONE_TESTS_SUPPORT_ETCD_CLUSTER_H_
#define LODESTONE_TESTS_SUPPORT_ETCD_CLUSTER_H_

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"

namespace lodestone::testing {

// PEM files of the members' TLS: one certificate (SAN IP:127.0.0.1, serverAuth and clientAuth)
// serves clients and peers and is the helper's own client identity for health checks.
struct EtcdTls {
  std::string ca;
  std::string cert;
  std::string key;
};

struct EtcdClusterOptions {
  int members = 3;
  std::optional<EtcdTls> tls;  // none: plain text
  std::string binary = "/usr/bin/etcd";
  int heartbeat_ms = 50;
  int election_timeout_ms = 500;  // etcd's minimum lease TTL becomes 1 s
  std::chrono::milliseconds start_timeout{15000};
  std::string data_parent = "/dev/shm";  // if missing or read-only: the system temp directory
  int start_attempts = 3;  // fresh ports each time (another process may take a picked port)
};

class EtcdCluster {
 public:
  explicit EtcdCluster(EtcdClusterOptions options = {})
      : options_(std::move(options)), root_(MakeRoot(options_.data_parent, dir_)) {}
  ~EtcdCluster() {
    for (auto& member : members_) member.process.reset();  // SIGKILL (works on stopped ones too)
    std::error_code ignored;
    if (root_ != dir_.path()) std::filesystem::remove_all(root_, ignored);
  }
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  // Starts every member and waits until each answers a linearizable read. On failure, error()
  // says why (with the tail of a member's log).
  bool Start() {
    for (int attempt = 1; attempt <= options_.start_attempts; ++attempt) {
      if (TryStart(attempt)) return true;
      members_.clear();  // kills whatever started
    }
    return false;
  }

  // "127.0.0.1:a,127.0.0.1:b,..."; with TLS "https://127.0.0.1:a,https://127.0.0.1:b,...".
  std::string endpoints() const {
    std::string out;
    for (size_t i = 0; i < members_.size(); ++i) {
      out += (i == 0 ? "" : ",") + std::string(options_.tls ? "https://" : "") +
             endpoint(static_cast<int>(i));
    }
    return out;
  }
  std::string endpoint(int member) const {
    return "127.0.0.1:" + std::to_string(members_[member].client_port);
  }
  int size() const { return static_cast<int>(members_.size()); }

  // The member the others follow (Maintenance.Status), or -1 if none answers as leader.
  int RaftLeader() const {
    for (int i = 0; i < size(); ++i) {
      auto stub =
          etcdserverpb::Maintenance::NewStub(grpc::CreateChannel(endpoint(i), Credentials()));
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
      etcdserverpb::StatusResponse status;
      if (!stub->Status(&context, etcdserverpb::StatusRequest(), &status).ok()) continue;
      if (status.leader() != 0 && status.leader() == status.header().member_id()) return i;
    }
    return -1;
  }
  const std::string& error() const { return error_; }

  // What the helper's own calls use: plain text, or TLS with the members' certificate.
  std::shared_ptr<grpc::ChannelCredentials> Credentials() const {
    if (!options_.tls) return grpc::InsecureChannelCredentials();
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadFile(options_.tls->ca);
    ssl.pem_cert_chain = ReadFile(options_.tls->cert);
    ssl.pem_private_key = ReadFile(options_.tls->key);
    return grpc::SslCredentials(ssl);
  }

  void Kill(int member) { members_[member].process.reset(); }
  void Pause(int member) { members_[member].process->Signal(SIGSTOP); }
  void Resume(int member) { members_[member].process->Signal(SIGCONT); }

  // Starts a killed member again on its ports and data, and waits until it answers.
  bool Restart(int member) {
    Kill(member);
    if (!Launch(member)) return false;
    return WaitHealthy(member, options_.start_timeout);
  }

  // Polls the member with a linearizable Range (it needs the cluster's quorum) every 50 ms.
  bool WaitHealthy(int member, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (Exited(member)) {
        error_ = "etcd member " + std::to_string(member) + " exited:\n" + LogTail(member);
        return false;
      }
      if (Answers(member)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    error_ =
        "etcd member " + std::to_string(member) + " did not answer in time:\n" + LogTail(member);
    return false;
  }

  std::string LogTail(int member, size_t bytes = 3000) const {
    std::ifstream in(LogPath(member));
    std::stringstream text;
    text << in.rdbuf();
    const std::string all = text.str();
    return all.size() <= bytes ? all : all.substr(all.size() - bytes);
  }

 private:
  struct Member {
    int client_port = 0;
    int peer_port = 0;
    std::unique_ptr<ChildProcess> process;
  };

  bool TryStart(int attempt) {
    const std::vector<int> ports = FreePorts(2 * options_.members);
    if (ports.empty()) {
      error_ = "could not pick free loopback ports";
      return false;
    }
    members_.resize(options_.members);
    for (int i = 0; i < options_.members; ++i) {
      members_[i].client_port = ports[2 * i];
      members_[i].peer_port = ports[2 * i + 1];
    }
    token_ = "lodestone-" + std::to_string(::getpid()) + "-" + std::to_string(NextId()) + "-" +
             std::to_string(attempt);
    std::error_code ignored;
    for (int i = 0; i < options_.members; ++i) {
      std::filesystem::remove_all(DataDir(i), ignored);  // a failed attempt's data
      if (!Launch(i)) return false;
    }
    for (int i = 0; i < options_.members; ++i) {
      if (!WaitHealthy(i, options_.start_timeout)) return false;
    }
    return true;
  }

  bool Launch(int member) {
    auto process = std::make_unique<ChildProcess>();
    if (!process->Start(Args(member))) {
      error_ = "could not start " + options_.binary;
      return false;
    }
    members_[member].process = std::move(process);
    return true;
  }

  std::vector<std::string> Args(int member) const {
    const std::string name = "m" + std::to_string(member);
    const std::string client = Url(members_[member].client_port);
    const std::string peer = Url(members_[member].peer_port);
    std::string initial_cluster;
    for (int i = 0; i < static_cast<int>(members_.size()); ++i) {
      initial_cluster +=
          (i == 0 ? "m" : ",m") + std::to_string(i) + "=" + Url(members_[i].peer_port);
    }
    std::vector<std::string> args = {options_.binary,
                                     "--name",
                                     name,
                                     "--data-dir",
                                     DataDir(member),
                                     "--listen-client-urls",
                                     client,
                                     "--advertise-client-urls",
                                     client,
                                     "--listen-peer-urls",
                                     peer,
                                     "--initial-advertise-peer-urls",
                                     peer,
                                     "--initial-cluster",
                                     initial_cluster,
                                     "--initial-cluster-state",
                                     "new",
                                     "--initial-cluster-token",
                                     token_,
                                     "--heartbeat-interval",
                                     std::to_string(options_.heartbeat_ms),
                                     "--election-timeout",
                                     std::to_string(options_.election_timeout_ms),
                                     "--logger",
                                     "zap",
                                     "--log-outputs",
                                     LogPath(member)};
    if (options_.tls) {
      const EtcdTls& tls = *options_.tls;
      for (const std::string& flag :
           {"--cert-file=" + tls.cert, "--key-file=" + tls.key, "--trusted-ca-file=" + tls.ca,
            std::string("--client-cert-auth"), "--peer-cert-file=" + tls.cert,
            "--peer-key-file=" + tls.key, "--peer-trusted-ca-file=" + tls.ca,
            std::string("--peer-client-cert-auth")}) {
        args.push_back(flag);
      }
    }
    return args;
  }

  // A zombie (exited, not yet reaped) shows state Z in /proc/<pid>/stat.
  bool Exited(int member) const {
    const ChildProcess* process = members_[member].process.get();
    if (process == nullptr || process->pid() <= 0) return true;
    std::ifstream in("/proc/" + std::to_string(process->pid()) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t paren = stat.rfind(')');
    return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] == 'Z';
  }

  // A linearizable read: the member answers only while the cluster has a leader and a quorum.
  bool Answers(int member) const {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a fresh connection per poll
    auto channel = grpc::CreateCustomChannel(endpoint(member), Credentials(), args);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
    etcdserverpb::RangeRequest request;
    request.set_key("health");
    etcdserverpb::RangeResponse response;
    return etcdserverpb::KV::NewStub(channel)->Range(&context, request, &response).ok();
  }

  // Binds port 0 on loopback for each, reads the port, then closes them all.
  static std::vector<int> FreePorts(int count) {
    std::vector<int> fds;
    std::vector<int> ports;
    for (int i = 0; i < count; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      socklen_t len = sizeof(addr);
      if (fd < 0) break;
      fds.push_back(fd);
      if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
          ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        break;
      }
      ports.push_back(ntohs(addr.sin_port));
    }
    for (int fd : fds) ::close(fd);
    if (static_cast<int>(ports.size()) != count) ports.clear();
    return ports;
  }

  static int NextId() {
    static std::atomic<int> next{0};
    return next++;
  }
  std::string Url(int port) const {
    return (options_.tls ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port);
  }
  static std::string ReadFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  // A fresh directory under `parent`, or else `fallback`'s.
  static std::string MakeRoot(const std::string& parent, const TempDir& fallback) {
    if (!parent.empty() && ::access(parent.c_str(), W_OK) == 0) {
      std::string pattern = parent + "/lodestone-etcd-XXXXXX";
      if (::mkdtemp(pattern.data()) != nullptr) return pattern;
    }
    return fallback.path();
  }
  std::string DataDir(int member) const { return root_ + "/m" + std::to_string(member); }
  std::string LogPath(int member) const { return DataDir(member) + ".log"; }

  const EtcdClusterOptions options_;
  TempDir dir_;
  const std::string root_;  // member data and logs
  std::string token_;
  std::vector<Member> members_;
  std::string error_;
};

}  // namespace lodestone::testing

#endif  // LODESTONE_TESTS_SUPPORT_ETCD_CLUSTER_H_
