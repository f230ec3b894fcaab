#include "image/verify_plan.hpp"

#include "core/base/error.hpp"
#include "core/base/hash.hpp"
#include "core/os/platform.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <exception>
#include <sstream>

namespace vssimg {

namespace {
const ObjectRef k_state{ObjectKind::state, "verify"};
constexpr uint64_t k_max_state_size = 64u << 20;
constexpr const char* k_state_magic = "vssimg-verify-state 1";
}  // namespace

unsigned pack_subset_of(const PackId& pack, unsigned count) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | pack.bytes[static_cast<size_t>(i)];
  return static_cast<unsigned>(v % count) + 1;
}

bool ReadPlan::reads_now(size_t p) const {
  return selected[p] && (deadline == 0 || monotonic_seconds() < deadline);
}

size_t ReadPlan::selected_count() const {
  return static_cast<size_t>(std::count(selected.begin(), selected.end(), 1));
}

size_t ReadPlan::read_count() const {
  return static_cast<size_t>(std::count(read.begin(), read.end(), 1));
}

ReadPlan plan_reads(const std::vector<PackId>& packs, const VerifyOptions& options,
                    const PackReadTimes& last_read) {
  ReadPlan plan;
  plan.selected.assign(packs.size(), 1);
  plan.read.assign(packs.size(), 0);
  if (options.subset_count) {
    for (size_t i = 0; i < packs.size(); ++i) {
      plan.selected[i] = pack_subset_of(packs[i], options.subset_count) == options.subset_index;
    }
  }
  plan.order.resize(packs.size());
  for (size_t i = 0; i < packs.size(); ++i) plan.order[i] = i;
  auto when = [&](size_t i) {
    auto it = last_read.find(packs[i]);
    return it == last_read.end() ? INT64_MIN : it->second;
  };
  std::stable_sort(plan.order.begin(), plan.order.end(), [&](size_t a, size_t b) {
    auto ta = when(a), tb = when(b);
    return ta != tb ? ta < tb : packs[a] < packs[b];
  });
  if (options.max_seconds > 0) plan.deadline = monotonic_seconds() + options.max_seconds;
  return plan;
}

PackReadTimes load_verify_state(const Store& store, std::vector<std::string>& notes) {
  PackReadTimes state;
  const Storage& storage = store.storage();
  if (!storage.size(k_state)) return state;
  try {
    const auto bytes = storage.read_all(k_state, k_max_state_size);
    const std::string text(bytes.begin(), bytes.end());
    size_t end = text.rfind("end ");
    if (end == std::string::npos ||
        text.compare(0, std::strlen(k_state_magic), k_state_magic) != 0 ||
        text.substr(end + 4, 16) != fmt::format("{:016x}", checksum64(text.data(), end))) {
      throw Error(ErrorKind::damage, "reading", storage.describe(k_state), "bad magic or checksum");
    }
    std::istringstream lines(text.substr(0, end));
    std::string line;
    std::getline(lines, line);
    while (std::getline(lines, line)) {
      PackId id;
      size_t space = line.find(' ');
      if (space == std::string::npos || !PackId::parse(line.substr(0, space), id)) continue;
      state[id] = std::stoll(line.substr(space + 1));
    }
  } catch (const std::exception& e) {
    notes.push_back(
        fmt::format("ignoring the verify state ({}); packs are read in id order", e.what()));
    state.clear();
  }
  return state;
}

PackReadTimes updated_verify_state(const std::vector<PackId>& packs, const ReadPlan& plan,
                                   const PackReadTimes& before, int64_t now) {
  PackReadTimes next;
  for (size_t i = 0; i < packs.size(); ++i) {
    if (plan.read[i]) {
      next[packs[i]] = now;
    } else if (auto it = before.find(packs[i]); it != before.end()) {
      next[packs[i]] = it->second;
    }
  }
  return next;
}

void save_verify_state(const Store& store, const PackReadTimes& state,
                       std::vector<std::string>& notes) {
  std::string text = std::string(k_state_magic) + "\n";
  for (const auto& [id, when] : state) text += fmt::format("{} {}\n", id.hex(), when);
  text += fmt::format("end {:016x}\n", checksum64(text.data(), text.size()));
  try {
    store.storage().write(k_state, text.data(), text.size(), WriteMode::replace);
  } catch (const Error& e) {
    notes.push_back(fmt::format("could not remember which packs were read: {}", e.what()));
  }
}

}  // namespace vssimg
