// The hand-off checks of tests/demo_handoff.h on a full demo a user made: KD_DEMO_OUT=demo-out after
// `make -f Makefile.data demo demo-export` (skipped without it; MakefileData.* runs the same checks on a tiny demo).
#include <gtest/gtest.h>

#include <cstdlib>

#include "tests/demo_handoff.h"
#include "tests/test_support.h"

TEST(DemoHandoff, TorchScriptStudentsMatchKdAndEventsMatchMetricsOfAGivenDemo) {
  const char* demo = std::getenv("KD_DEMO_OUT");
  if (!demo || !*demo) GTEST_SKIP() << "set KD_DEMO_OUT to a demo folder made by `make -f Makefile.data demo demo-export`";
  KD_REQUIRE_PYTHON_TORCH();
  kd::test::TempDir tmp("kd-demo-handoff");
  EXPECT_GT(kd::test::check_demo_handoff(demo, tmp.path()), 20);
}
