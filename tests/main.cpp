// The test runner: doctest's main. Every tests/test_*.cpp adds its TEST_CASEs to this binary.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
