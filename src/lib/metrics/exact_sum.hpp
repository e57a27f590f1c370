// Exact floating-point summation (Shewchuk's non-overlapping partials, as in Python's math.fsum).
//
// An ExactSum holds a multiset of doubles whose exact real sum is the running total; every add is
// exact (no rounding), so the total does not depend on the order of the additions or on how a
// stream was split and merged. value() rounds the exact total once, correctly (half-even).
// The common case (integers, or sums without rounding error) keeps everything in `hi_` and never
// allocates.
#pragma once

#include <cmath>
#include <cstddef>
#include <memory>
#include <vector>

namespace cwfilter::detail {

// Adds x to non-overlapping partials `p` (increasing magnitude), exactly. P: std::vector<double>
// or SmallPartials (size, operator[], resize to a smaller size, push_back).
template <class P>
inline void grow_partials(P& p, double x) {
  std::size_t i = 0;
  for (std::size_t j = 0; j < p.size(); ++j) {
    double y = p[j];
    if (std::fabs(x) < std::fabs(y)) std::swap(x, y);
    const double hi = x + y;
    const double lo = y - (hi - x);
    if (lo != 0.0) p[i++] = lo;
    x = hi;
  }
  p.resize(i);
  if (x != 0.0 || p.empty()) p.push_back(x);
}

// Correctly rounded value of non-overlapping partials in increasing magnitude (fsum's last step).
template <class P>
inline double round_partials(const P& p) {
  std::size_t n = p.size();
  if (n == 0) return 0.0;
  double hi = p[--n];
  double lo = 0.0;
  while (n > 0) {
    const double x = hi;
    const double y = p[--n];
    hi = x + y;
    const double yr = hi - x;
    lo = y - yr;
    if (lo != 0.0) break;
  }
  // Half-even rounding across several partials.
  if (n > 0 && ((lo < 0.0 && p[n - 1] < 0.0) || (lo > 0.0 && p[n - 1] > 0.0))) {
    const double y = lo * 2.0;
    const double x = hi + y;
    const double yr = x - hi;
    if (y == yr) hi = x;
  }
  return hi;
}

class ExactSum {
 public:
  ExactSum() = default;
  ExactSum(const ExactSum& o)
      : hi_(o.hi_), lo_(o.lo_ ? std::make_unique<std::vector<double>>(*o.lo_) : nullptr) {}
  ExactSum& operator=(const ExactSum& o) {
    if (this != &o) {
      hi_ = o.hi_;
      lo_ = o.lo_ ? std::make_unique<std::vector<double>>(*o.lo_) : nullptr;
    }
    return *this;
  }
  ExactSum(ExactSum&&) noexcept = default;
  ExactSum& operator=(ExactSum&&) noexcept = default;

  void add(double x) {
    const double s = hi_ + x;
    const double bv = s - hi_;
    const double av = s - bv;
    const double err = (hi_ - av) + (x - bv);  // hi_ + x == s + err exactly (two-sum)
    hi_ = s;
    if (err != 0.0) {
      if (!lo_) lo_ = std::make_unique<std::vector<double>>();
      grow_partials(*lo_, err);
    }
  }
  // a * b added exactly (the rounding error of the product is recovered with an FMA).
  void add_product(double a, double b) {
    const double p = a * b;
    const double e = std::fma(a, b, -p);
    add(p);
    if (e != 0.0) add(e);
  }
  void add(const ExactSum& other) {
    add(other.hi_);
    if (other.lo_)
      for (double x : *other.lo_) add(x);
  }
  void subtract(const ExactSum& other) {
    add(-other.hi_);
    if (other.lo_)
      for (double x : *other.lo_) add(-x);
  }
  double value() const {
    if (!lo_ || lo_->empty()) return hi_;
    std::vector<double> p;
    grow_partials(p, hi_);
    for (double x : *lo_) grow_partials(p, x);
    return round_partials(p);
  }
  bool is_exactly_zero() const { return value() == 0.0; }  // exact: a nonzero total never rounds to 0
  bool exactly_equals(const ExactSum& other) const {
    ExactSum d = *this;
    d.subtract(other);
    return d.is_exactly_zero();
  }
  std::size_t heap_bytes() const {
    return lo_ ? sizeof(*lo_) + lo_->capacity() * sizeof(double) : 0;
  }
  // Calls f with each double of the multiset (their exact sum is the total).
  template <class F>
  void for_each_part(F&& f) const {
    f(hi_);
    if (lo_)
      for (double x : *lo_) f(x);
  }

 private:
  double hi_ = 0.0;
  // Exact rounding errors as non-overlapping partials; allocated only once an add was inexact,
  // so that the common integer case costs 16 bytes.
  std::unique_ptr<std::vector<double>> lo_;
};

// Partials with room for a few inline: the sums a query adds up need no allocation.
class SmallPartials {
 public:
  SmallPartials() = default;
  SmallPartials(const SmallPartials&) = delete;
  SmallPartials& operator=(const SmallPartials&) = delete;
  std::size_t size() const noexcept { return n_; }
  bool empty() const noexcept { return n_ == 0; }
  double& operator[](std::size_t i) noexcept { return heap_.empty() ? inline_[i] : heap_[i]; }
  double operator[](std::size_t i) const noexcept { return heap_.empty() ? inline_[i] : heap_[i]; }
  void resize(std::size_t n) noexcept { n_ = n; }  // only ever shrinks (grow_partials)
  void clear() noexcept {
    n_ = 0;
    heap_.clear();
  }
  void push_back(double x) {
    if (heap_.empty() && n_ < kInline) {
      inline_[n_++] = x;
      return;
    }
    if (heap_.empty()) heap_.assign(inline_, inline_ + n_);
    heap_.resize(n_);
    heap_.push_back(x);
    ++n_;
  }

 private:
  static constexpr std::size_t kInline = 8;
  double inline_[kInline];
  std::size_t n_ = 0;
  std::vector<double> heap_;  // once more than kInline partials were needed
};

// An exact running sum for the short life of a query: no allocation in the common case, unlike
// ExactSum, whose compact form suits values kept per cell. The running double sum `hi_` takes
// every addend; only the exact rounding error of an inexact addition (two-sum) goes to fsum
// partials, so sums of integers (sample counts) never touch them. hi_ + the partials is exact.
class ExactAccumulator {
 public:
  void add(double x) {
    const double s = hi_ + x;
    const double bv = s - hi_;
    const double av = s - bv;
    const double err = (hi_ - av) + (x - bv);  // hi_ + x == s + err exactly
    hi_ = s;
    if (err != 0.0) grow_partials(p_, err);
  }
  void add(const ExactSum& s) {
    s.for_each_part([this](double x) { add(x); });
  }
  void subtract(const ExactSum& s) {
    s.for_each_part([this](double x) { add(-x); });
  }
  // The exact total, correctly rounded. (hi_ never holds -0.0: it starts at +0.0 and a sum of
  // two doubles is -0.0 only when both are; parts of an ExactSum are never -0.0 either.)
  double value() const {
    if (p_.empty()) return hi_;
    SmallPartials q;
    for (std::size_t i = 0; i < p_.size(); ++i) q.push_back(p_[i]);
    grow_partials(q, hi_);
    return round_partials(q);
  }
  // value(), then clear(), without copying the partials.
  double value_and_clear() {
    double v = hi_;
    if (!p_.empty()) {
      grow_partials(p_, hi_);
      v = round_partials(p_);
    }
    clear();
    return v;
  }
  void clear() noexcept {
    hi_ = 0.0;
    p_.clear();
  }

 private:
  double hi_ = 0.0;
  SmallPartials p_;  // exact rounding errors of the additions into hi_
};

}  // namespace cwfilter::detail
