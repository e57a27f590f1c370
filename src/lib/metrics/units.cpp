// StandardUnit names, MetricKey identity and PutMetricData's shape constraints (alarms.md §1.1).
#include <cwfilter/metrics.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <set>

namespace cwfilter {
namespace {

// Same order as the enum; AWS's spelling (botocore StandardUnit).
constexpr std::array<std::string_view, kStandardUnitCount> kUnitNames = {
    "Seconds", "Microseconds", "Milliseconds",
    "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
    "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits",
    "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second",
    "Count/Second",
    "None",
};
static_assert(static_cast<std::size_t>(StandardUnit::kNone) + 1 == kStandardUnitCount);

std::size_t fnv1a(std::size_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  // A separator so that ("ab","c") and ("a","bc") differ.
  h ^= 0xff;
  h *= 1099511628211ULL;
  return h;
}

bool ascii_only(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x80; });
}
bool only_whitespace(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  });
}

}  // namespace

std::string_view to_string(StandardUnit unit) noexcept {
  const auto i = static_cast<std::size_t>(unit);
  return i < kUnitNames.size() ? kUnitNames[i] : std::string_view("None");
}

Result<StandardUnit, Error> parse_standard_unit(std::string_view text) {
  for (std::size_t i = 0; i < kUnitNames.size(); ++i) {
    if (kUnitNames[i] == text) return static_cast<StandardUnit>(i);
  }
  std::string all;
  for (std::size_t i = 0; i < kUnitNames.size(); ++i) {
    if (i) all += ", ";
    all += kUnitNames[i];
  }
  // AWS: "Value 'x' at 'unit' failed to satisfy constraint: Member must satisfy enum value set".
  return Error{fmt::format("Invalid unit '{}': member must satisfy enum value set: [{}]", text, all)};
}

MetricKey::MetricKey(std::string metric_namespace, std::string metric_name,
                     std::vector<Dimension> dimensions)
    : namespace_(std::move(metric_namespace)),
      name_(std::move(metric_name)),
      dimensions_(std::move(dimensions)) {
  std::sort(dimensions_.begin(), dimensions_.end(), [](const Dimension& a, const Dimension& b) {
    return a.name != b.name ? a.name < b.name : a.value < b.value;
  });
}

std::size_t MetricKey::hash() const noexcept {
  std::size_t h = 14695981039346656037ULL;
  h = fnv1a(h, namespace_);
  h = fnv1a(h, name_);
  for (const auto& d : dimensions_) {
    h = fnv1a(h, d.name);
    h = fnv1a(h, d.value);
  }
  return h;
}

std::optional<Error> validate_metric_key(const MetricKey& key) {
  const auto& ns = key.metric_namespace();
  if (ns.empty() || ns.size() > 255)
    return Error{fmt::format("Namespace must be 1-255 characters (got {})", ns.size())};
  if (!ascii_only(ns) || only_whitespace(ns))
    return Error{"Namespace must be ASCII with at least one non-whitespace character"};
  const auto& name = key.metric_name();
  if (name.empty() || name.size() > 255)
    return Error{fmt::format("MetricName must be 1-255 characters (got {})", name.size())};
  if (only_whitespace(name))
    return Error{"MetricName must contain at least one non-whitespace character"};
  const auto& dims = key.dimensions();
  if (dims.size() > 30)
    return Error{fmt::format("Dimensions: at most 30 dimensions are allowed (got {})", dims.size())};
  for (std::size_t i = 0; i < dims.size(); ++i) {
    const auto& d = dims[i];
    if (d.name.empty() || d.name.size() > 255)
      return Error{fmt::format("Dimension name '{}' must be 1-255 characters", d.name)};
    if (d.name.front() == ':')
      return Error{fmt::format("Dimension name '{}' must not start with ':'", d.name)};
    if (!ascii_only(d.name) || only_whitespace(d.name))
      return Error{fmt::format(
          "Dimension name '{}' must be ASCII with at least one non-whitespace character", d.name)};
    if (d.value.empty() || d.value.size() > 1024)
      return Error{fmt::format("Dimension '{}' value must be 1-1024 characters", d.name)};
    if (!ascii_only(d.value) || only_whitespace(d.value))
      return Error{fmt::format(
          "Dimension '{}' value must be ASCII with at least one non-whitespace character", d.name)};
    if (i > 0 && dims[i - 1].name == d.name)
      return Error{fmt::format("Dimension name '{}' appears more than once", d.name)};
  }
  return std::nullopt;
}

}  // namespace cwfilter
