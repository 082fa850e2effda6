// mbrl.hpp included by several translation units of one program: every test file includes it and
// they all link into build/run_tests, so a missing `inline` would be a duplicate-symbol link
// error. This file adds one more user of the non-template functions, to make the point explicit.
#include "../examples/run_log.hpp"
#include "helpers.hpp"

TEST_CASE("mbrl.hpp in several translation units: inline functions link once and agree") {
    CHECK(mbrl::mix64(1) == mbrl::mix64(1));
    CHECK(mbrl::fast_tanh(0.5f) == doctest::Approx(std::tanh(0.5)).epsilon(1e-6));
    CHECK(mbrl::shape_str(2, 3) == "[2, 3]");
    CHECK(mbrl_examples::csv_num(NAN).empty());
    CHECK(mbrl_examples::hms(3725) == "1h02m");
    CHECK(mbrl_examples::metric_names().front() == "Iteration");
}
