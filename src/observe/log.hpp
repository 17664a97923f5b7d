// Operational log: one JSON object per line on stderr ({"time","level","msg",...fields}).
// Thread-safe (each line is written with a single fwrite on a locked FILE). Not for the
// per-request hot path: requests go to the access log.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace sluice::observe {

enum class Level { Info, Warning, Error };

using LogFields = std::initializer_list<std::pair<std::string_view, std::string_view>>;

void log(Level level, std::string_view message, LogFields fields = {});

}  // namespace sluice::observe
