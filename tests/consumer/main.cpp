#include <cwfilter/cwfilter.hpp>
int main() {
  auto p = cwfilter::compile(R"({ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") })");
  return p.ok() && p->matches(R"({"eventName":"ConsoleLogin","errorMessage":"Failed authentication"})") ? 0 : 1;
}
