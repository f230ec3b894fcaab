// Temporary main for the allocation-map tests until the shared test binary lands.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
