// Metric keys, the exact mergeable MetricStore, aggregates and CloudWatch statistics.
#include "common.hpp"

#include <cwfilter/metrics.hpp>

#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/string_view.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <limits>

namespace cwfilter::py {

namespace {

StandardUnit unit_of(std::string_view text) { return unwrap(parse_standard_unit(text)); }
std::string unit_name(StandardUnit unit) { return std::string(to_string(unit)); }

std::optional<StandardUnit> optional_unit(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  return unit_of(*text);
}

// Dimensions from a dict {name: value} or an iterable of (name, value) pairs.
std::vector<Dimension> dimensions_of(nb::handle obj) {
  std::vector<Dimension> dims;
  if (obj.is_none()) return dims;
  if (nb::isinstance<nb::dict>(obj)) {
    for (auto [k, v] : nb::borrow<nb::dict>(obj))
      dims.push_back(Dimension{text_of(k), text_of(v)});
    return dims;
  }
  for (nb::handle item : nb::iter(obj)) {
    auto pair = nb::cast<std::pair<std::string, std::string>>(item);
    dims.push_back(Dimension{std::move(pair.first), std::move(pair.second)});
  }
  return dims;
}

nb::dict dimensions_dict(const std::vector<Dimension>& dims) {
  nb::dict d;
  for (const auto& dim : dims) d[nb::str(dim.name.c_str(), dim.name.size())] = nb::str(dim.value.c_str(), dim.value.size());
  return d;
}

std::string_view statistic_kind_name(Statistic::Kind kind) {
  switch (kind) {
    case Statistic::Kind::kSampleCount: return "SampleCount";
    case Statistic::Kind::kSum: return "Sum";
    case Statistic::Kind::kAverage: return "Average";
    case Statistic::Kind::kMinimum: return "Minimum";
    case Statistic::Kind::kMaximum: return "Maximum";
    case Statistic::Kind::kPercentile: return "percentile";
    case Statistic::Kind::kTrimmedMean: return "trimmed_mean";
    case Statistic::Kind::kWinsorizedMean: return "winsorized_mean";
    case Statistic::Kind::kTrimmedCount: return "trimmed_count";
    case Statistic::Kind::kTrimmedSum: return "trimmed_sum";
    case Statistic::Kind::kPercentileRank: return "percentile_rank";
  }
  return "unknown";
}

Statistic statistic_of(nb::handle obj) {
  if (nb::isinstance<Statistic>(obj)) return nb::cast<Statistic>(obj);
  return unwrap(parse_statistic(text_of(obj)));
}

bool stored(Result<AddOutcome, Error> outcome) { return unwrap(std::move(outcome)) == AddOutcome::kStored; }

// ---- pickling: the live cells, found through the public query API ---------------------------

struct Cell {
  MetricKey key;
  StandardUnit unit;
  std::int64_t t_eff;
  Aggregate aggregate;
};

// Cells live on whole seconds (standard ones on whole minutes); bisect [lo, hi) down to them.
void collect_cells(const MetricStore& store, const MetricKey& key, StandardUnit unit, std::int64_t lo,
                   std::int64_t hi, std::vector<Cell>& out) {
  auto aggregate = store.query(key, unit, lo, hi);
  if (!aggregate) return;
  if (hi - lo <= 1000) {
    out.push_back(Cell{key, unit, lo, std::move(*aggregate)});
    return;
  }
  const std::int64_t seconds = (hi - lo) / 1000;
  std::int64_t mid = lo + (seconds / 2) * 1000;
  // Prefer minute boundaries: standard-resolution cells are found in fewer steps.
  if (seconds > 120) {
    std::int64_t minute = mid - (((mid % 60000) + 60000) % 60000);
    if (minute > lo) mid = minute;
  }
  collect_cells(store, key, unit, lo, mid, out);
  collect_cells(store, key, unit, mid, hi, out);
}

std::int64_t floor_to(std::int64_t t, std::int64_t step) { return t - (((t % step) + step) % step); }

nb::tuple store_state(const MetricStore& store) {
  nb::list cells;
  auto newest = store.newest_timestamp();
  if (newest) {
    const std::int64_t lo = floor_to(std::max<std::int64_t>(store.cutoff(), -(std::int64_t{1} << 61)), 1000);
    const std::int64_t hi = floor_to(*newest, 1000) + 1000;
    std::vector<Cell> found;
    for (const MetricKey& key : store.keys())
      for (StandardUnit unit : store.units_with_data(key, lo, hi)) collect_cells(store, key, unit, lo, hi, found);
    for (auto& c : found) {
      nb::object values = nb::none();
      if (c.aggregate.values) {
        nb::list v;
        for (const auto& vc : *c.aggregate.values) v.append(nb::make_tuple(vc.value, vc.count));
        values = v;
      }
      cells.append(nb::make_tuple(c.key.metric_namespace(), c.key.metric_name(), dimensions_dict(c.key.dimensions()),
                                  unit_name(c.unit), c.t_eff, c.aggregate.sample_count, c.aggregate.sum,
                                  c.aggregate.minimum, c.aggregate.maximum, values));
    }
  }
  const std::int64_t cutoff = store.cutoff();
  return nb::make_tuple(store.options().retention_ms,
                        cutoff == std::numeric_limits<std::int64_t>::min() ? nb::none() : nb::cast(cutoff),
                        cells);
}

void restore_state(MetricStore& store, nb::tuple state) {
  nb::handle cutoff = state[1];
  for (nb::handle item : nb::borrow<nb::list>(state[2])) {
    nb::tuple c = nb::borrow<nb::tuple>(item);
    MetricKey key(text_of(c[0]), text_of(c[1]), dimensions_of(c[2]));
    const StandardUnit unit = unit_of(text_of(c[3]));
    const auto t = nb::cast<std::int64_t>(c[4]);
    // A minute-aligned cell is re-added as standard resolution, any other as high resolution:
    // either way the datum lands in a cell at exactly t, so every query answers as before.
    const int resolution = t % 60000 == 0 ? kStandardResolution : kHighResolution;
    if (!c[9].is_none()) {
      std::vector<double> values, counts;
      for (nb::handle vc : nb::borrow<nb::list>(c[9])) {
        values.push_back(nb::cast<double>(vc[0]));
        counts.push_back(static_cast<double>(nb::cast<std::uint64_t>(vc[1])));
      }
      unwrap(store.add_values(key, unit, t, values, counts, resolution));
    } else {
      StatisticSet set{nb::cast<double>(c[5]), nb::cast<double>(c[6]), nb::cast<double>(c[7]), nb::cast<double>(c[8])};
      unwrap(store.add_statistic_set(key, unit, t, set, resolution));
    }
  }
  if (!cutoff.is_none()) store.expire_before(nb::cast<std::int64_t>(cutoff));
}

}  // namespace

void bind_metrics(nb::module_& m) {
  nb::class_<MetricKey>(m, "MetricKey",
                        "A metric's identity: namespace, name and the exact set of dimensions "
                        "(their order does not matter).")
      .def(
          "__init__",
          [](MetricKey* self, std::string ns, std::string name, nb::handle dimensions) {
            new (self) MetricKey(std::move(ns), std::move(name), dimensions_of(dimensions));
          },
          nb::arg("namespace"), nb::arg("name"), nb::arg("dimensions") = nb::none(),
          "MetricKey(namespace, name, dimensions=None); dimensions is a dict {name: value} or "
          "an iterable of (name, value) pairs.")
      .def_prop_ro("namespace", &MetricKey::metric_namespace, "The metric namespace.")
      .def_prop_ro("name", &MetricKey::metric_name, "The metric name.")
      .def_prop_ro(
          "dimensions", [](const MetricKey& k) { return dimensions_dict(k.dimensions()); },
          "The dimensions as a dict {name: value}, sorted by name.")
      .def(
          "validate",
          [](const MetricKey& k) {
            if (auto e = validate_metric_key(k)) raise_value_error(e->message);
          },
          "Raises ValueError if PutMetricData would refuse this key's shape.")
      .def("__eq__", [](const MetricKey& a, nb::handle b) {
        return nb::isinstance<MetricKey>(b) && a == nb::cast<const MetricKey&>(b);
      })
      .def("__hash__", [](const MetricKey& k) { return static_cast<Py_ssize_t>(k.hash() >> 1); })
      .def("__repr__", [](const MetricKey& k) {
        return "MetricKey(" + std::string(nb::repr(nb::str(k.metric_namespace().c_str())).c_str()) + ", " +
               std::string(nb::repr(nb::str(k.metric_name().c_str())).c_str()) + ", " +
               std::string(nb::repr(dimensions_dict(k.dimensions())).c_str()) + ")";
      })
      .def("__reduce__", [](nb::handle self) {
        const MetricKey& k = nb::cast<const MetricKey&>(self);
        return nb::make_tuple(self.type(), nb::make_tuple(k.metric_namespace(), k.metric_name(),
                                                          dimensions_dict(k.dimensions())));
      });

  nb::class_<Aggregate>(m, "Aggregate",
                        "Everything in one bucket of one metric: SampleCount, Sum, Minimum, "
                        "Maximum, and the raw samples when every contribution had them.")
      .def_ro("sample_count", &Aggregate::sample_count, "SampleCount (> 0).")
      .def_ro("sum", &Aggregate::sum, "Sum, the exact sum rounded once.")
      .def_ro("minimum", &Aggregate::minimum, "Minimum.")
      .def_ro("maximum", &Aggregate::maximum, "Maximum.")
      .def_prop_ro("average", &Aggregate::average, "Sum / SampleCount.")
      .def_prop_ro(
          "values",
          [](const Aggregate& a) -> std::optional<std::vector<std::pair<double, std::uint64_t>>> {
            if (!a.values) return std::nullopt;
            std::vector<std::pair<double, std::uint64_t>> out;
            for (const auto& vc : *a.values) out.emplace_back(vc.value, vc.count);
            return out;
          },
          "[(value, count), ...] ascending, or None when a contribution had no raw samples "
          "(a statistic set that does not qualify for percentiles).")
      .def("__eq__", [](const Aggregate& a, nb::handle b) {
        return nb::isinstance<Aggregate>(b) && a == nb::cast<const Aggregate&>(b);
      })
      .def("__repr__", [](const Aggregate& a) {
        return "Aggregate(sample_count=" + std::string(nb::repr(nb::float_(a.sample_count)).c_str()) +
               ", sum=" + std::string(nb::repr(nb::float_(a.sum)).c_str()) +
               ", minimum=" + std::string(nb::repr(nb::float_(a.minimum)).c_str()) +
               ", maximum=" + std::string(nb::repr(nb::float_(a.maximum)).c_str()) + ")";
      });

  nb::class_<Statistic>(m, "Statistic",
                        "A CloudWatch statistic: SampleCount, Sum, Average, Minimum, Maximum, "
                        "pNN, TM/WM/TC/TS(a:b), tmNN, wmNN, tcNN, tsNN, IQM, PR(a:b).")
      .def(
          "__init__",
          [](Statistic* self, std::string_view text) { new (self) Statistic(unwrap(parse_statistic(text))); },
          nb::arg("name"), "Parses a statistic name (case-sensitive); ValueError if invalid.")
      .def_ro("name", &Statistic::name, "The statistic as written.")
      .def_prop_ro(
          "kind", [](const Statistic& s) { return std::string(statistic_kind_name(s.kind)); },
          "'SampleCount', 'Sum', 'Average', 'Minimum', 'Maximum', 'percentile', 'trimmed_mean', "
          "'winsorized_mean', 'trimmed_count', 'trimmed_sum' or 'percentile_rank'.")
      .def_prop_ro("is_extended", &Statistic::is_extended, "True for the percentile family.")
      .def("compute", &compute, nb::arg("aggregate"),
           "The statistic over one bucket, or None where CloudWatch publishes no value.")
      .def_prop_ro(
          "low_sample_count_threshold", [](const Statistic& s) { return low_sample_count_threshold(s); },
          "For percentiles: the SampleCount below which a datapoint is low-sample; else None.")
      .def(
          "is_low_sample_count", [](const Statistic& s, double n) { return is_low_sample_count(s, n); },
          nb::arg("sample_count"), "sample_count < low_sample_count_threshold, compared exactly.")
      .def(
          "validate_for_alarm",
          [](const Statistic& s) {
            if (auto e = validate_alarm_extended_statistic(s)) raise_value_error(e->message);
          },
          "Raises ValueError unless PutMetricAlarm accepts this as ExtendedStatistic.")
      .def("__eq__", [](const Statistic& a, nb::handle b) {
        return nb::isinstance<Statistic>(b) && a == nb::cast<const Statistic&>(b);
      })
      .def("__repr__", [](const Statistic& s) { return "Statistic(" + std::string(nb::repr(nb::str(s.name.c_str())).c_str()) + ")"; });

  m.def(
      "statistic",
      [](nb::handle statistic, const Aggregate& aggregate) { return compute(statistic_of(statistic), aggregate); },
      nb::arg("statistic"), nb::arg("aggregate"),
      "The statistic (a name or a Statistic) over `aggregate`, or None where CloudWatch "
      "publishes no value.");

  m.def(
      "standard_units",
      [] {
        std::vector<std::string> out;
        for (std::size_t i = 0; i < kStandardUnitCount; ++i) out.push_back(unit_name(static_cast<StandardUnit>(i)));
        return out;
      },
      "Every CloudWatch StandardUnit name, e.g. 'Count', 'Bytes/Second', 'None'.");

  nb::class_<MetricStore>(m, "MetricStore",
                          "An exact, mergeable, retention-bounded store of metric data, as "
                          "CloudWatch keeps it. Not thread-safe for writes (the GIL serialises "
                          "calls from Python).")
      .def(
          "__init__",
          [](MetricStore* self, std::optional<std::int64_t> retention_ms) {
            MetricStoreOptions options;
            if (retention_ms) {
              if (*retention_ms <= 0) raise_value_error("retention_ms must be positive");
              options.retention_ms = *retention_ms;
            }
            new (self) MetricStore(options);
          },
          nb::arg("retention_ms") = nb::none(),
          "MetricStore(retention_ms=None): data older than newest - retention is dropped "
          "(default 15 days, CloudWatch's 1-minute retention).")
      .def_prop_ro(
          "retention_ms", [](const MetricStore& s) { return s.options().retention_ms; },
          "The retention in milliseconds.")
      .def(
          "add_value",
          [](MetricStore& s, const MetricKey& key, double value, nb::handle timestamp, std::string_view unit,
             int storage_resolution) {
            return stored(s.add_value(key, unit_of(unit), to_ms(timestamp), value, storage_resolution));
          },
          nb::arg("key"), nb::arg("value"), nb::arg("timestamp"), nb::arg("unit") = "None",
          nb::arg("storage_resolution") = kStandardResolution,
          "Adds one sample. timestamp: int ms since the epoch, datetime (naive = UTC) or ISO-8601 "
          "str. Returns False if the datum is older than the retention allows (dropped).")
      .def(
          "add_values",
          [](MetricStore& s, const MetricKey& key, const std::vector<double>& values, nb::handle timestamp,
             std::optional<std::vector<double>> counts, std::string_view unit, int storage_resolution) {
            std::vector<double> c = counts ? *counts : std::vector<double>{};
            return stored(s.add_values(key, unit_of(unit), to_ms(timestamp), values, c, storage_resolution));
          },
          nb::arg("key"), nb::arg("values"), nb::arg("timestamp"), nb::arg("counts") = nb::none(),
          nb::arg("unit") = "None", nb::arg("storage_resolution") = kStandardResolution,
          "PutMetricData Values/Counts: counts[i] samples of values[i] (counts None = 1 each).")
      .def(
          "add_statistic_set",
          [](MetricStore& s, const MetricKey& key, nb::handle timestamp, double sample_count, double sum,
             double minimum, double maximum, std::string_view unit, int storage_resolution) {
            StatisticSet set{sample_count, sum, minimum, maximum};
            return stored(s.add_statistic_set(key, unit_of(unit), to_ms(timestamp), set, storage_resolution));
          },
          nb::arg("key"), nb::arg("timestamp"), nb::arg("sample_count"), nb::arg("sum"), nb::arg("minimum"),
          nb::arg("maximum"), nb::arg("unit") = "None", nb::arg("storage_resolution") = kStandardResolution,
          "PutMetricData StatisticValues.")
      .def(
          "put_metric_data",
          [](MetricStore& s, nb::handle request, std::string default_namespace, nb::handle receipt_time,
             bool reject_reserved_namespace) {
            std::string json = nb::isinstance<nb::str>(request) || nb::isinstance<nb::bytes>(request)
                                   ? (nb::isinstance<nb::str>(request) ? text_of(request)
                                                                       : std::string(nb::cast<nb::bytes>(request).c_str(),
                                                                                     nb::cast<nb::bytes>(request).size()))
                                   : text_of(nb::module_::import_("json").attr("dumps")(request));
            PutMetricDataParseOptions options;
            options.default_namespace = std::move(default_namespace);
            if (!receipt_time.is_none()) options.receipt_time_ms = to_ms(receipt_time);
            options.reject_reserved_namespace = reject_reserved_namespace;
            auto parsed = unwrap(parse_put_metric_data(json, options));
            return unwrap(s.put(parsed));
          },
          nb::arg("request"), nb::arg("default_namespace") = "", nb::arg("receipt_time") = nb::none(),
          nb::arg("reject_reserved_namespace") = false,
          "Stores a PutMetricData request (JSON text, or the same as dicts/lists): "
          "{'Namespace': ..., 'MetricData': [...]} or a bare MetricDatum list (needs "
          "default_namespace). All or nothing; returns how many datums were stored.")
      .def(
          "query",
          [](const MetricStore& s, const MetricKey& key, nb::handle start, nb::handle end,
             std::optional<std::string> unit) { return s.query(key, optional_unit(unit), to_ms(start), to_ms(end)); },
          nb::arg("key"), nb::arg("start"), nb::arg("end"), nb::arg("unit") = nb::none(),
          "The Aggregate of the data with start <= timestamp < end (of one unit, or of every "
          "unit when unit is None), or None when there is none (missing is not zero).")
      .def(
          "get_statistic",
          [](const MetricStore& s, const MetricKey& key, nb::handle statistic, nb::handle start, nb::handle end,
             std::optional<std::string> unit) -> std::optional<double> {
            Statistic stat = statistic_of(statistic);
            auto aggregate = s.query(key, optional_unit(unit), to_ms(start), to_ms(end));
            if (!aggregate) return std::nullopt;
            return compute(stat, *aggregate);
          },
          nb::arg("key"), nb::arg("statistic"), nb::arg("start"), nb::arg("end"), nb::arg("unit") = nb::none(),
          "The statistic over [start, end), or None (no data, or no value for that statistic).")
      .def(
          "units_with_data",
          [](const MetricStore& s, const MetricKey& key, nb::handle start, nb::handle end) {
            std::vector<std::string> out;
            for (StandardUnit u : s.units_with_data(key, to_ms(start), to_ms(end))) out.push_back(unit_name(u));
            return out;
          },
          nb::arg("key"), nb::arg("start"), nb::arg("end"), "Units with data for `key` in [start, end).")
      .def("keys", &MetricStore::keys, "Every metric key with live data (unordered).")
      .def("merge", &MetricStore::merge, nb::arg("other"),
           "Adds every live cell of `other` to this store (exact: merging the stores of two "
           "halves of a stream gives the store of the whole stream).")
      .def(
          "expire_before", [](MetricStore& s, nb::handle t) { s.expire_before(to_ms(t)); }, nb::arg("timestamp"),
          "Drops data before `timestamp` now and refuses it later.")
      .def_prop_ro(
          "cutoff",
          [](const MetricStore& s) -> std::optional<std::int64_t> {
            if (s.cutoff() == std::numeric_limits<std::int64_t>::min()) return std::nullopt;
            return s.cutoff();
          },
          "Data older than this (ms) is dropped; None while nothing was added nor expired.")
      .def_prop_ro("newest_timestamp", &MetricStore::newest_timestamp,
                   "Newest effective timestamp ever added (ms), or None.")
      .def_prop_ro("series_count", &MetricStore::series_count, "Live (key, unit) series.")
      .def_prop_ro("cell_count", &MetricStore::cell_count, "Live cells over all series.")
      .def_prop_ro("memory_usage", &MetricStore::memory_usage, "Estimated bytes held.")
      .def("copy", [](const MetricStore& s) { return MetricStore(s); }, "An independent copy.")
      .def("__copy__", [](const MetricStore& s) { return MetricStore(s); })
      .def("__deepcopy__", [](const MetricStore& s, nb::handle) { return MetricStore(s); }, nb::arg("memo"))
      .def("__eq__", [](const MetricStore& a, nb::handle b) {
        return nb::isinstance<MetricStore>(b) && a == nb::cast<const MetricStore&>(b);
      })
      .def("__getstate__", &store_state)
      .def("__setstate__",
           [](MetricStore& self, nb::tuple state) {
             MetricStoreOptions options;
             options.retention_ms = nb::cast<std::int64_t>(state[0]);
             new (&self) MetricStore(options);
             restore_state(self, state);
           })
      .def("__repr__", [](const MetricStore& s) {
        return "<cwfilter.MetricStore series=" + std::to_string(s.series_count()) +
               " cells=" + std::to_string(s.cell_count()) + ">";
      });
}

}  // namespace cwfilter::py
