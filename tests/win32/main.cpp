// Catch2 v2 would define wmain for _UNICODE builds; MinGW links main.
#define DO_NOT_USE_WMAIN
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
