#include "cli/lock_options.hpp"

#include "cli/parse.hpp"
#include "core/base/error.hpp"

#include <algorithm>
#include <cctype>

namespace vssimg::cli {

double parse_lock_wait(const std::string& text) {
  const bool digits = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) != 0;
  });
  if (digits) {
    if (text.size() > 9) throw Error(ErrorKind::usage, "parsing", "--lock-wait", "too long");
    return static_cast<double>(std::stoul(text));
  }
  const DurationParts d = parse_duration(text, "--lock-wait", " h min s ");
  return 3600.0 * d.hours + 60.0 * d.minutes + d.seconds;
}

LockOptions lock_options(Context& ctx, StoreAccess access) {
  LockOptions o;
  o.wait_seconds = parse_lock_wait(ctx.global.lock_wait);
  o.read_only_ok = access == StoreAccess::read;
  Output* out = ctx.out.get();
  o.note = [out](const std::string& line) { out->info(line); };
  return o;
}

}  // namespace vssimg::cli
