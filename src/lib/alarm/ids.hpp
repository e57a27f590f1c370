// Identifiers shared by the SNS messages of metric alarms and streak alarms.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cwfilter::alarm::detail {

// ARN fields: arn:partition:service:region:account:resource (empty when not an ARN).
std::vector<std::string_view> split_arn(std::string_view arn);
// A deterministic, RFC 4122-shaped (version 5 bits) UUID derived from `seed_text`.
std::string derived_uuid(std::string_view seed_text);

}  // namespace cwfilter::alarm::detail
