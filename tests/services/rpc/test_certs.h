// A throwaway PKI for TLS tests, made at test time with /usr/bin/openssl in a directory: a CA
// with a server certificate (SAN IP:127.0.0.1 and DNS:localhost, usable as a client identity
// too) and a client certificate, and another CA with its own client certificate.
#ifndef LODESTONE_TESTS_SERVICES_RPC_TEST_CERTS_H_
#define LODESTONE_TESTS_SERVICES_RPC_TEST_CERTS_H_

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace lodestone::testing {

struct TestPki {
  std::string dir;
  std::string ca_cert, ca_key;
  std::string server_cert, server_key;  // signed by ca; serverAuth and clientAuth
  std::string client_cert, client_key;  // signed by ca; clientAuth
  std::string other_ca_cert, other_ca_key;
  std::string other_client_cert, other_client_key;  // signed by other_ca
};

namespace pki_internal {

inline bool WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return out.good();
}

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Runs openssl with `args` in `dir` (stdin /dev/null, output appended to dir/openssl.log).
inline bool RunOpenssl(const std::string& dir, const std::vector<std::string>& args,
                       std::string* error) {
  const std::string log = dir + "/openssl.log";
  const pid_t pid = ::fork();
  if (pid < 0) {
    *error = "fork failed";
    return false;
  }
  if (pid == 0) {
    if (::chdir(dir.c_str()) != 0) ::_exit(126);
    const int in = ::open("/dev/null", O_RDONLY);
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (in < 0 || out < 0) ::_exit(126);
    ::dup2(in, STDIN_FILENO);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
    std::vector<char*> argv;
    static char openssl[] = "/usr/bin/openssl";
    argv.push_back(openssl);
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    ::execv(openssl, argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string command = "openssl";
    for (const auto& arg : args) command += " " + arg;
    *error = command + " failed:\n" + ReadText(log);
    return false;
  }
  return true;
}

inline bool MakeCa(const std::string& dir, const std::string& name, const std::string& cn,
                   std::string* error) {
  const std::string config = dir + "/" + name + ".cnf";
  if (!WriteText(config, "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = " + cn +
                             "\n[v3_ca]\nbasicConstraints = critical, CA:TRUE\n"
                             "keyUsage = critical, keyCertSign, cRLSign\n"
                             "subjectKeyIdentifier = hash\n")) {
    *error = "cannot write " + config;
    return false;
  }
  return RunOpenssl(dir,
                    {"req", "-x509", "-config", config, "-extensions", "v3_ca", "-newkey", "ec",
                     "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", name + ".key",
                     "-out", name + ".crt", "-days", "2"},
                    error);
}

inline bool MakeLeaf(const std::string& dir, const std::string& name, const std::string& cn,
                     const std::string& ca, const std::string& extensions, int serial,
                     std::string* error) {
  const std::string config = dir + "/" + name + ".cnf";
  if (!WriteText(config, "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = " + cn +
                             "\n[ext]\nbasicConstraints = CA:FALSE\n"
                             "keyUsage = critical, digitalSignature, keyEncipherment\n" +
                             extensions)) {
    *error = "cannot write " + config;
    return false;
  }
  return RunOpenssl(dir,
                    {"req", "-new", "-config", config, "-newkey", "ec", "-pkeyopt",
                     "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", name + ".key", "-out",
                     name + ".csr"},
                    error) &&
         RunOpenssl(dir,
                    {"x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt", "-CAkey",
                     ca + ".key", "-set_serial", std::to_string(serial), "-days", "2", "-extfile",
                     config, "-extensions", "ext", "-out", name + ".crt"},
                    error);
}

}  // namespace pki_internal

// Fills `pki` with files under `dir`; false (with `error`) if openssl failed.
inline bool MakeTestPki(const std::string& dir, TestPki* pki, std::string* error) {
  using pki_internal::MakeCa;
  using pki_internal::MakeLeaf;
  if (!MakeCa(dir, "ca", "Lodestone Test CA", error) ||
      !MakeLeaf(dir, "server", "localhost", "ca",
                "extendedKeyUsage = serverAuth, clientAuth\n"
                "subjectAltName = IP:127.0.0.1, DNS:localhost\n",
                1001, error) ||
      !MakeLeaf(dir, "client", "test-client", "ca", "extendedKeyUsage = clientAuth\n", 1002,
                error) ||
      !MakeCa(dir, "other-ca", "Other Test CA", error) ||
      !MakeLeaf(dir, "other-client", "other-client", "other-ca", "extendedKeyUsage = clientAuth\n",
                2001, error)) {
    return false;
  }
  pki->dir = dir;
  pki->ca_cert = dir + "/ca.crt";
  pki->ca_key = dir + "/ca.key";
  pki->server_cert = dir + "/server.crt";
  pki->server_key = dir + "/server.key";
  pki->client_cert = dir + "/client.crt";
  pki->client_key = dir + "/client.key";
  pki->other_ca_cert = dir + "/other-ca.crt";
  pki->other_ca_key = dir + "/other-ca.key";
  pki->other_client_cert = dir + "/other-client.crt";
  pki->other_client_key = dir + "/other-client.key";
  return true;
}

}  // namespace lodestone::testing

#endif  // LODESTONE_TESTS_SERVICES_RPC_TEST_CERTS_H_
