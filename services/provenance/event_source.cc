#include "services/provenance/event_source.h"

#include <algorithm>
#include <iostream>

#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "services/codec/record_codec.h"

namespace lodestone::provenance {

LocalLogSource::LocalLogSource(const storage::Log& log, const CommitSubscriber& subscribe,
                               absl::Duration late_after)
    : log_(log), late_after_(late_after) {
  unsubscribe_ = subscribe([this] {
    std::lock_guard lock(mu_);
    cv_.notify_all();
  });
}

LocalLogSource::~LocalLogSource() {
  if (unsubscribe_) unsubscribe_();
}

absl::StatusOr<std::vector<v1::StoredEvent>> LocalLogSource::Read(uint64_t from_position,
                                                                  size_t max_events,
                                                                  absl::Duration wait) {
  {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, absl::ToChronoMilliseconds(wait),
                 [&] { return cancelled_ || log_.GetHead().size > from_position; });
  }
  auto records = log_.ReadAll(from_position, max_events, size_t{16} << 20);
  if (!records.ok()) return records.status();
  std::vector<v1::StoredEvent> events(records->size());
  for (size_t i = 0; i < records->size(); ++i) {
    if (auto status = codec::RecordToProto((*records)[i], &events[i], late_after_); !status.ok()) {
      return status;
    }
  }
  return events;
}

void LocalLogSource::Cancel() {
  std::lock_guard lock(mu_);
  cancelled_ = true;
  cv_.notify_all();
}

uint64_t LocalLogSource::ledger_size() const { return log_.GetHead().size; }

RemoteLedgerSource::RemoteLedgerSource(RemoteSourceOptions options) : options_(std::move(options)) {
  thread_ = std::thread([this] { Run(); });
}

RemoteLedgerSource::~RemoteLedgerSource() {
  Cancel();
  thread_.join();
}

void RemoteLedgerSource::Cancel() {
  std::lock_guard lock(mu_);
  cancelled_ = true;
  if (context_) context_->TryCancel();
  cv_.notify_all();
}

uint64_t RemoteLedgerSource::ledger_size() const {
  std::lock_guard lock(mu_);
  return ledger_size_;
}

bool RemoteLedgerSource::connected() const {
  std::lock_guard lock(mu_);
  return connected_;
}

absl::StatusOr<std::vector<v1::StoredEvent>> RemoteLedgerSource::Read(uint64_t from_position,
                                                                      size_t max_events,
                                                                      absl::Duration wait) {
  std::unique_lock lock(mu_);
  // Drop what the reader no longer needs; a gap means the stream must restart there.
  while (!buffer_.empty() && buffer_.front().position() < from_position) buffer_.pop_front();
  if (!buffer_.empty() && buffer_.front().position() != from_position) buffer_.clear();
  if (buffer_.empty() && wanted_position_ != from_position) {
    wanted_position_ = from_position;
    restart_ = true;
    if (context_) context_->TryCancel();
  }
  cv_.notify_all();
  cv_.wait_for(lock, absl::ToChronoMilliseconds(wait),
               [&] { return cancelled_ || !buffer_.empty(); });
  std::vector<v1::StoredEvent> out;
  while (!buffer_.empty() && out.size() < max_events) {
    out.push_back(std::move(buffer_.front()));
    buffer_.pop_front();
  }
  if (!out.empty()) wanted_position_ = out.back().position() + 1;
  cv_.notify_all();  // space freed
  if (out.empty() && !connected_ && !cancelled_) {
    return absl::UnavailableError("ledger " + options_.ledger_address + " not reachable");
  }
  return out;
}

void RemoteLedgerSource::Run() {
  auto channel = grpc::CreateChannel(
      options_.ledger_address,
      options_.credentials != nullptr ? options_.credentials : grpc::InsecureChannelCredentials());
  auto stub = v1::LedgerService::NewStub(channel);
  absl::Duration backoff = options_.backoff_initial;
  while (true) {
    uint64_t from;
    {
      std::unique_lock lock(mu_);
      if (cancelled_) return;
      restart_ = false;
      from = wanted_position_ + buffer_.size();
      context_ = std::make_unique<grpc::ClientContext>();
      context_->set_deadline(std::chrono::system_clock::now() +
                             absl::ToChronoMilliseconds(options_.stream_deadline));
    }
    v1::SubscribeRequest request;
    request.set_from_position(from);
    request.set_max_events_per_message(1000);  // the ledger caps it and bounds the bytes
    auto reader = stub->Subscribe(context_.get(), request);
    v1::SubscribeResponse message;
    bool got_any = false;
    bool damaged = false;
    while (reader->Read(&message)) {
      std::unique_lock lock(mu_);
      connected_ = true;
      got_any = true;
      backoff = options_.backoff_initial;
      ledger_size_ = std::max<uint64_t>(ledger_size_, message.log_size());
      for (auto& event : *message.mutable_events()) {
        const uint64_t expected = wanted_position_ + buffer_.size();
        if (event.position() != expected) continue;  // stale data from before a restart
        const storage::Hash zeros{};
        const storage::Hash* previous = nullptr;
        if (expected == 0) {
          previous = &zeros;
        } else if (chain_tip_.has_value() && chain_tip_->first + 1 == expected) {
          previous = &chain_tip_->second;
        }
        auto chain = codec::CheckStoredEvent(event, previous);
        if (!chain.ok()) {
          std::cerr << "provenance: from " << options_.ledger_address << ": " << chain.status()
                    << "; subscribing again from position " << expected << std::endl;
          damaged = true;
          break;
        }
        chain_tip_.emplace(expected, *chain);
        buffer_.push_back(std::move(event));
      }
      cv_.notify_all();
      if (damaged) break;
      // Flow control: stop reading (the transport pushes back on the ledger) while full.
      cv_.wait(lock, [&] {
        return cancelled_ || restart_ || buffer_.size() < options_.max_buffered_events;
      });
      if (cancelled_ || restart_) break;
    }
    if (cancelled_ || damaged) context_->TryCancel();
    reader->Finish();
    std::unique_lock lock(mu_);
    connected_ = false;
    context_.reset();
    if (cancelled_) return;
    if (restart_) continue;
    if (!got_any || damaged) {
      cv_.wait_for(lock, absl::ToChronoMilliseconds(backoff), [&] { return cancelled_; });
      backoff = std::min(backoff * 2, options_.backoff_max);
    }
  }
}

}  // namespace lodestone::provenance
