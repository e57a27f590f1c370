// Identifiers and the SNS envelope shared by the messages of metric alarms and streak alarms.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cwfilter::alarm::detail {

// ARN fields: arn:partition:service:region:account:resource (empty when not an ARN).
std::vector<std::string_view> split_arn(std::string_view arn);
// A deterministic, RFC 4122-shaped (version 5 bits) UUID derived from `seed_text`.
std::string derived_uuid(std::string_view seed_text);
// The SNS notification envelope (what an HTTP/SQS subscriber receives) around `message`, for the
// topic `topic_arn` in `region`. Signature fields are synthesised: SNS signs with AWS's private
// key, which no local tool has.
std::string sns_envelope(std::string_view message_id, std::string_view topic_arn, std::string_view region,
                         std::string_view subject, std::string_view message, std::string_view timestamp);

}  // namespace cwfilter::alarm::detail
