#include "services/loadgen/graph.h"

#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"
#include "services/loadgen/workload.h"

namespace lodestone::loadgen {
namespace {

constexpr const char* kCountries[] = {"AU", "CN", "US", "MY", "VN", "JP", "BR", "ZA"};
constexpr int kCountryCount = 8;

struct PoolLot {
  std::string id;
  int64_t remaining;
};

class Emitter {
 public:
  Emitter(size_t batch, const std::function<bool(std::vector<v1::Event>)>& emit)
      : batch_(batch), emit_(emit) {}
  bool Add(v1::Event event) {
    events_.push_back(std::move(event));
    ++count_;
    return events_.size() < batch_ || Flush();
  }
  bool Flush() {
    if (events_.empty()) return true;
    std::vector<v1::Event> out;
    out.swap(events_);
    return emit_(std::move(out));
  }
  uint64_t count() const { return count_; }

 private:
  const size_t batch_;
  const std::function<bool(std::vector<v1::Event>)>& emit_;
  std::vector<v1::Event> events_;
  uint64_t count_ = 0;
};

}  // namespace

GraphSummary GenerateGraph(const GraphOptions& options, size_t batch_events,
                           const std::function<bool(std::vector<v1::Event>)>& emit) {
  std::mt19937_64 rng(options.seed);
  Emitter out(batch_events, emit);
  GraphSummary summary;
  const std::string& p = options.prefix;
  auto mine = [&](int c) { return absl::StrCat(p, "-mine-", kCountries[c]); };
  for (int c = 0; c < kCountryCount; ++c) {
    out.Add(PartyRegistered(absl::StrCat(p, "-e-party-", c), absl::StrCat(p, "-party-", c),
                            kCountries[c]));
    out.Add(FacilityRegistered(absl::StrCat(p, "-e-mine-", c), mine(c),
                               absl::StrCat(p, "-party-", c), kCountries[c],
                               v1::FACILITY_KIND_MINE));
  }
  std::vector<std::vector<PoolLot>> pools(kCountryCount);
  uint64_t next_id = 0;
  auto new_lot = [&] { return absl::StrCat(p, "-l", next_id++); };
  const uint64_t extracted = std::max<uint64_t>(options.lots / 4, 1);
  for (uint64_t i = 0; i < extracted; ++i) {
    const int c = static_cast<int>(i % kCountryCount);
    const std::string id = new_lot();
    out.Add(LotExtracted("e-" + id, id, mine(c), v1::MATERIAL_RARE_EARTH_ORE, "253090", 1000000));
    pools[c].push_back({id, 1000000});
  }
  summary.lots = extracted;
  const v1::Process processes[] = {v1::PROCESS_SEPARATION, v1::PROCESS_REFINING,
                                   v1::PROCESS_BLENDING, v1::PROCESS_SPLITTING};
  uint64_t transformations = 0, shipments = 0;
  auto take = [&](std::vector<PoolLot>& pool) {
    std::uniform_int_distribution<size_t> pick(0, pool.size() - 1);
    return pick(rng);
  };
  while (summary.lots < options.lots) {
    const int c = static_cast<int>(rng() % kCountryCount);
    auto& pool = pools[c];
    if (pool.size() < 3) continue;
    // Two or three inputs, each partly or wholly consumed.
    std::vector<Input> inputs;
    int64_t consumed = 0;
    const int n_inputs = 2 + static_cast<int>(rng() % 2);
    for (int k = 0; k < n_inputs && !pool.empty(); ++k) {
      const size_t at = take(pool);
      if (std::any_of(inputs.begin(), inputs.end(),
                      [&](const Input& in) { return in.lot_id == pool[at].id; })) {
        continue;
      }
      int64_t mass = pool[at].remaining;
      if (rng() % 2 == 0 && mass > 2) mass = mass / 2;
      inputs.push_back({pool[at].id, mass});
      consumed += mass;
      pool[at].remaining -= mass;
      if (pool[at].remaining == 0) {
        pool[at] = pool.back();
        pool.pop_back();
      }
    }
    if (inputs.size() < 2) continue;
    const int n_outputs = 1 + static_cast<int>(rng() % 2);
    std::vector<Output> outputs;
    const int64_t each = std::max<int64_t>(consumed * 9 / 10 / n_outputs, 1);
    const v1::Process process = processes[transformations % 4];
    for (int k = 0; k < n_outputs; ++k) {
      outputs.push_back({new_lot(), v1::MATERIAL_RARE_EARTH_COMPOUND, "284690", each});
    }
    const std::string t = absl::StrCat(p, "-t", transformations++);
    out.Add(LotTransformed("e-" + t, t, mine(c), process, inputs, outputs));
    summary.lots += outputs.size();
    for (const auto& o : outputs) {
      // Some outputs travel to another country, where they are merged with local material.
      if (rng() % 4 == 0) {
        const int d = static_cast<int>((c + 1 + rng() % (kCountryCount - 1)) % kCountryCount);
        const std::string s = absl::StrCat(p, "-s", shipments++);
        out.Add(ShipmentDispatched("e-d-" + s, s, {{o.lot_id, o.mass_g}}, mine(c), mine(d),
                                   kCountries[c], "284690"));
        out.Add(ShipmentArrived("e-a-" + s, s, mine(d)));
        pools[d].push_back({o.lot_id, o.mass_g});
      } else {
        pool.push_back({o.lot_id, o.mass_g});
      }
      if (summary.sample_lots.size() < 10000 && rng() % 64 == 0) {
        summary.sample_lots.push_back(o.lot_id);
      }
    }
  }
  // The deep chain: each link consumes the previous link and a fresh extracted lot (a
  // re-merge at every level), at the CN mine.
  if (options.deep_chain > 0) {
    std::string previous = new_lot();
    out.Add(LotExtracted("e-" + previous, previous, mine(1), v1::MATERIAL_RARE_EARTH_ORE, "253090",
                         1000000));
    summary.deep_chain_lots.push_back(previous);
    int64_t mass = 1000000;
    for (int depth = 1; depth <= options.deep_chain; ++depth) {
      const std::string fresh = new_lot();
      out.Add(LotExtracted("e-" + fresh, fresh, mine(1), v1::MATERIAL_RARE_EARTH_ORE, "253090",
                           1000000));
      const std::string next = new_lot();
      const std::string t = absl::StrCat(p, "-deep-t", depth);
      out.Add(LotTransformed("e-" + t, t, mine(1), v1::PROCESS_BLENDING,
                             {{previous, mass}, {fresh, 1000000}},
                             {{next, v1::MATERIAL_RARE_EARTH_ORE, "253090", 1000000}}));
      mass = 1000000;
      summary.deep_chain_lots.push_back(next);
      previous = next;
    }
  }
  out.Flush();
  summary.events = out.count();
  return summary;
}

}  // namespace lodestone::loadgen
