// SIGTERM/SIGINT handling shared by the programs: block the signals in every thread (call first
// in main, before any thread starts), then wait for one on the main thread and drain.
#ifndef LODESTONE_SERVICES_RPC_STOP_SIGNALS_H_
#define LODESTONE_SERVICES_RPC_STOP_SIGNALS_H_

#include <csignal>

namespace lodestone::rpc {

inline sigset_t StopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  return signals;
}

inline void BlockStopSignals() {
  const sigset_t signals = StopSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

// Waits for SIGTERM or SIGINT; returns the signal.
inline int WaitForStopSignal() {
  const sigset_t signals = StopSignals();
  int signal = 0;
  sigwait(&signals, &signal);
  return signal;
}

}  // namespace lodestone::rpc

#endif  // LODESTONE_SERVICES_RPC_STOP_SIGNALS_H_
