// How a command takes the store lock (image/lock.hpp): how long it waits for another
// process (--lock-wait), and the one line it prints when it waits or takes no lock.
#pragma once

#include "cli/context.hpp"
#include "image/lock.hpp"

#include <string>

namespace vssimg::cli {

// Readers (list, show, verify, restore, ls, extract, export, mount) work on a store this
// user cannot write, without a lock; writers refuse it (exit 14).
enum class StoreAccess { read, write };

// --lock-wait: seconds ("90") or a duration in h, min, s ("5min", "1h"); 0 refuses at once.
double parse_lock_wait(const std::string& text);

// StoreLock options from --lock-wait, with the notes as info lines.
LockOptions lock_options(Context& ctx, StoreAccess access);

}  // namespace vssimg::cli
