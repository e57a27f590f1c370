# Every dependency comes from the system (Debian packages; scripts/install-deps.sh installs them).
find_package(pegtl 3 REQUIRED)
find_package(RapidJSON REQUIRED)       # sets RAPIDJSON_INCLUDE_DIRS only
find_package(fmt REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)  # RE2 ships no CMake config on Debian
find_package(ZLIB REQUIRED)
find_package(CURL REQUIRED)
find_package(yaml-cpp REQUIRED)
if(CWFILTER_BUILD_CLI)
  find_package(CLI11 REQUIRED)
endif()
if(CWFILTER_BUILD_TESTS)
  find_package(Catch2 2 REQUIRED)
endif()
if(CWFILTER_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
